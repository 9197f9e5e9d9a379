#!/bin/bash
# 603-launchable-train-restart: train_finnish.sh's exit codes and restarts, fast, with a fake
# fish-speech environment (.venv/bin/python) and the earlier steps marked done (610 does it
# all for real, slowly): the loss guard's verdicts become exit 13 (random weights: the
# checkpoints are set aside; a NaN loss); SIGTERM stops the training and exits 143; a failed
# training exits 1 (the unit retries) until the same checkpoint has failed 3 times in a row,
# then 13 (the unit stops); progress resets the count; a healthy run merges, synthesises
# the sample, creates the done file and lists the results; a run after that does nothing.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_cmd setsid sha256sum
L=$REPO_ROOT/launchable
TRAIN=$L/train_finnish.sh
W=$T/ws
S=$W/.train-steps
FS=$W/fish-speech
mkdir -p "$S" "$FS/.venv/bin" "$W/.tools/uv-0.8.15" "$W/checkpoints/openaudio-s1-mini" "$T/state"
patch_set=$(cat "$L"/fish-speech-patches/*.patch | sha256sum | cut -c1-12)
req=$(sha256sum "$L/fish-speech-requirements.txt" | cut -c1-12)
for s in system "source-$patch_set" "venv-cu126-$req" data vq protos; do : >"$S/$s.done"; done
printf '#!/bin/sh\necho "uv 0.8.15"\n' >"$W/.tools/uv-0.8.15/uv"
chmod +x "$W/.tools/uv-0.8.15/uv"

# the fake interpreter: train.py writes the guard's status file and a checkpoint, then
# exits FAKE_RC after FAKE_SLEEP s; merge, inference and decoding make their outputs
cat >"$FS/.venv/bin/python" <<'EOS'
#!/bin/bash
echo "python $*" >>"$FAKE_LOG"
case "$*" in
*fish_speech/train.py*)
    echo $$ >"$FAKE_PIDFILE"
    status= project=
    for a in "$@"; do
        case $a in
        +callbacks.loss_guard.status_file=*) status=${a#*=} ;;
        project=*) project=${a#*=} ;;
        esac
    done
    printf 'Epoch 0: 1/2000 [v_num=0, train/loss=%s]\n' "${FAKE_LOSS:-8.0}"
    printf '{"verdict": "%s", "step": %s, "loss": "%s", "first_mean": "%s", "limit": 15.21, "uniform_loss": 20.28}\n' \
        "${FAKE_VERDICT:-finished}" "${FAKE_STEP:-10}" "${FAKE_LOSS:-8.0}" "${FAKE_LOSS:-8.0}" >"$status"
    mkdir -p "results/$project/checkpoints"
    : >"results/$project/checkpoints/$(printf 'step_%09d.ckpt' "${FAKE_STEP:-10}")"
    sleep "${FAKE_SLEEP:-0}"
    exit "${FAKE_RC:-0}" ;;
*merge_lora.py*)
    a="$*"; out=${a##*--output }; mkdir -p "$out"; : >"$out/model.pth" ;;
*text2semantic/inference.py*)
    a="$*"; out=${a##*--output-dir }; mkdir -p "$out"; : >"$out/codes_0.npy" ;;
*dac/inference.py*)
    a="$*"; out=${a##*-o }; out=${out%% *}; : >"$out" ;;
esac
exit 0
EOS
chmod +x "$FS/.venv/bin/python"
train() {   # train [VAR=value...]: returns the script's status in RC
    set +e
    env -i PATH="/usr/bin:/bin" HOME="$T/home" BOOTSTRAP_WORKSPACE="$W" \
        BOOTSTRAP_MODEL_DIR="$W/checkpoints/openaudio-s1-mini" BOOTSTRAP_DATA_DIR="$W/data" \
        BOOTSTRAP_GPU_COUNT=1 BOOTSTRAP_DONE_FILE="$T/state/entrypoint.done" \
        FAKE_LOG="$T/py.log" FAKE_PIDFILE="$T/train.pid" "$@" \
        bash "$TRAIN" >"$T/out" 2>"$T/err"
    RC=$?
    set -e
}
CK=$FS/results/finnish-lora/checkpoints

# 1. the guard saw random base weights: exit 13, the checkpoints set aside
train FAKE_VERDICT=random_weights FAKE_LOSS=22.37 FAKE_RC=1
assert_eq "$RC" 13 "exit status for the random-weights symptom"
assert_contains "$T/err" "the first losses average 22.37 (limit 15.21; uniform guessing gives 20.28"
assert_contains "$T/err" "fishaudio/fish-speech#1163"
assert_contains "$T/err" "Its checkpoints were moved to $CK.random-weights-"
[ ! -d "$CK" ] || fail "the checkpoints of the random run stayed in place"
[ ! -f "$S/train-finnish-lora.done" ] || fail "training marked done"
assert_not_contains "$T/py.log" "merge_lora"
assert_contains "$W/logs/train-finnish-lora.log" "train/loss=22.37"

# 2. a loss that is not finite: exit 13
train FAKE_VERDICT=nonfinite FAKE_LOSS=nan FAKE_RC=1
assert_eq "$RC" 13 "exit status for a NaN loss"
assert_contains "$T/err" "the training loss became nan at step 10"

# 3. SIGTERM (systemctl stop) stops the training too: exit 143
( train FAKE_VERDICT=running FAKE_SLEEP=60; exit "$RC" ) &
bg=$!
for _ in $(seq 1 100); do [ -s "$T/train.pid" ] && break; sleep 0.1; done
sleep 0.3
pkill -TERM -f "bash $TRAIN" || true
set +e; wait "$bg"; rc=$?; set -e
assert_eq "$rc" 143 "exit status after SIGTERM"
sleep 0.2
! kill -0 "$(cat "$T/train.pid")" 2>/dev/null || fail "the training still runs"
rm -f "$T/train.pid"

# 4. the training fails: exit 1 twice, the third time without progress exit 13
train FAKE_VERDICT=running FAKE_RC=1 FAKE_STEP=10
assert_eq "$RC" 1 "exit status of a failed training"
assert_contains "$T/err" "failure 1 of 3"
assert_contains "$T/err" "the next run resumes from the last checkpoint ($CK/step_000000010.ckpt)"
train FAKE_VERDICT=running FAKE_RC=1 FAKE_STEP=10
assert_eq "$RC" 1 "second failure"
assert_contains "$T/err" "failure 2 of 3"
train FAKE_VERDICT=running FAKE_RC=1 FAKE_STEP=10
assert_eq "$RC" 13 "third failure at the same checkpoint"
assert_contains "$T/err" "has now failed 3 times in a row without progress, so the boot unit stops retrying"
# progress (a newer checkpoint) starts the count again
train FAKE_VERDICT=running FAKE_RC=1 FAKE_STEP=20
assert_eq "$RC" 1 "a failure after progress"
assert_contains "$T/err" "failure 1 of 3"
[ ! -f "$T/state/entrypoint.done" ] || fail "done file after a failure"

# 5. healthy: train, merge, sample, done; the steps before are skipped
rm -f "$T/py.log"
train FAKE_STEP=30
assert_eq "$RC" 0 "exit status of a healthy run"
assert_contains "$T/err" "step 'data': done already"
assert_not_contains "$T/py.log" "extract_vq"
assert_contains "$T/py.log" "fish_speech/train.py --config-name text2semantic_finetune project=finnish-lora"
assert_contains "$T/py.log" "+lora@model.model.lora_config=r_8_alpha_16"
assert_contains "$T/py.log" "merge_lora.py --lora-config r_8_alpha_16 --base-weight checkpoints/openaudio-s1-mini --lora-weight $CK/step_000000030.ckpt"
assert_contains "$T/py.log" "fish_speech/models/dac/inference.py -i $W/samples/finnish-lora/codes_0.npy -o $W/samples/finnish-lora/sample.wav"
[ -f "$FS/checkpoints/openaudio-s1-mini-fi-lora/model.pth" ] || fail "no merged model"
[ -f "$T/state/entrypoint.done" ] || fail "no done file"
[ -L "$FS/checkpoints/openaudio-s1-mini" ] || fail "the base model is not linked into the checkout"
assert_contains "$T/err" "a sample: $W/samples/finnish-lora/sample.wav"
[ ! -e "$S/train-finnish-lora.failures" ] || fail "the failure count outlived the success"

# 6. finished: nothing to do, the results listed again
rm -f "$T/py.log"
train
assert_eq "$RC" 0
assert_contains "$T/err" "already finished"
assert_contains "$T/err" "a sample: $W/samples/finnish-lora/sample.wav"
[ ! -f "$T/py.log" ] || fail "a finished run ran python again"
