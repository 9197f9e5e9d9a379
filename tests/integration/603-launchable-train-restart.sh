#!/bin/bash
# 603-launchable-train-restart: train_finnish.sh for real, with fake uv/nvidia-smi and the
# earlier steps marked done: a first loss near 22 (random base weights) stops the training
# at once with exit 13 and kills it; a failed training exits 1 and the next run resumes at
# the training step (not before); a healthy run merges, creates the done file, and a run
# after that does nothing.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_cmd setsid
TRAIN=$REPO_ROOT/launchable/train_finnish.sh
W=$T/ws
mkdir -p "$T/bin" "$W/.train-steps" "$W/fish-speech" "$W/checkpoints/openaudio-s1-mini"
for s in system checkout venv-cu126 data vq protos; do : >"$W/.train-steps/$s.done"; done

# fake uv: 'uv run python fish_speech/train.py ...' prints a progress line with a loss,
# leaves a checkpoint and exits FAKE_RC after FAKE_SLEEP s; merge_lora.py makes the output
cat >"$T/bin/uv" <<'EOS'
#!/bin/bash
echo "uv $*" >>"$FAKE_LOG"
case "$*" in
*fish_speech/train.py*)
    echo $$ >"$FAKE_PIDFILE"
    printf 'Epoch 0:   1%%| 1/2000 [00:01<00:00, v_num=0, train/loss=%s, train/top_5_accuracy=0.1]\r' "$FAKE_LOSS"
    mkdir -p results/finnish/checkpoints && : >results/finnish/checkpoints/step_000000010.ckpt
    sleep "${FAKE_SLEEP:-0}"
    exit "${FAKE_RC:-0}" ;;
*merge_lora.py*)
    a="$*"; out=${a##*--output }; mkdir -p "$out"; : >"$out/model.pth" ;;
esac
exit 0
EOS
chmod +x "$T/bin/uv"
train() {   # train [VAR=value...]: returns the script's status in RC
    set +e
    env -i PATH="$T/bin:/usr/bin:/bin" HOME="$T/home" BOOTSTRAP_WORKSPACE="$W" \
        BOOTSTRAP_MODEL_DIR="$W/checkpoints/openaudio-s1-mini" BOOTSTRAP_DATA_DIR="$W/data" \
        BOOTSTRAP_GPU_COUNT=1 BOOTSTRAP_DONE_FILE="$T/state/entrypoint.done" \
        FAKE_LOG="$T/uv.log" FAKE_PIDFILE="$T/train.pid" TRAIN_POLL_SECONDS=0.2 "$@" \
        bash "$TRAIN" >"$T/out" 2>"$T/err"
    RC=$?
    set -e
}

# 1. random base weights: stop at the first loss, exit 13, training killed
start=$(date +%s)
train FAKE_LOSS=22.37 FAKE_SLEEP=60
assert_eq "$RC" 13 "exit status for the random-weights symptom"
[ $(( $(date +%s) - start )) -lt 20 ] || fail "stopping took too long"
assert_contains "$T/err" "the first loss is 22.37"
assert_contains "$T/err" "fishaudio/fish-speech#1163"
[ -f "$W/.train-steps/random-weights-symptom" ] || fail "no symptom marker"
sleep 0.2
! kill -0 "$(cat "$T/train.pid")" 2>/dev/null || fail "the training still runs"
[ ! -f "$W/.train-steps/train-lora.done" ] || fail "training marked done"
assert_not_contains "$T/uv.log" "merge_lora"
assert_contains "$W/logs/train-finnish.log" "train/loss=22.37"

# 2. the training fails: exit 1, earlier steps are not repeated on the next run
rm -f "$T/uv.log"
train FAKE_LOSS=8.1 FAKE_RC=1
assert_eq "$RC" 1 "exit status of a failed training"
assert_contains "$T/err" "first loss 8.1: the base weights are loaded"
assert_contains "$T/err" "run again to resume from the last checkpoint"
[ ! -f "$T/state/entrypoint.done" ] || fail "done file after a failure"

# 3. healthy: train, merge, done; the steps before are skipped
rm -f "$T/uv.log"
mkdir -p "$T/state"
train FAKE_LOSS=7.95
assert_eq "$RC" 0 "exit status of a healthy run"
assert_contains "$T/err" "step 'data': done already"
assert_not_contains "$T/uv.log" "uv sync"
assert_not_contains "$T/uv.log" "extract_vq"
assert_contains "$T/uv.log" "fish_speech/train.py --config-name text2semantic_finetune project=finnish"
assert_contains "$T/uv.log" "+lora@model.model.lora_config=r_8_alpha_16"
assert_contains "$T/uv.log" "merge_lora.py --lora-config r_8_alpha_16 --base-weight checkpoints/openaudio-s1-mini --lora-weight $W/fish-speech/results/finnish/checkpoints/step_000000010.ckpt"
[ -f "$W/fish-speech/checkpoints/openaudio-s1-mini-fi-lora/model.pth" ] || fail "no merged model"
[ -f "$T/state/entrypoint.done" ] || fail "no done file"
[ -L "$W/fish-speech/checkpoints/openaudio-s1-mini" ] || fail "the base model is not linked into the checkout"

# 4. finished: nothing to do
rm -f "$T/uv.log"
train
assert_eq "$RC" 0
assert_contains "$T/err" "already finished"
[ ! -f "$T/uv.log" ] || fail "a finished run ran uv again"
