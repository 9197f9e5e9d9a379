#!/bin/bash
# 610-train-cpu: the Finnish fine-tune for real, on the CPU, through the entrypoint a user
# runs (launchable/train_finnish.sh --cpu), with fish-speech's own code: fish-speech at
# d3df505 from the shared archive (sha256-pinned), our patches applied by the entrypoint,
# its Python environment built by the entrypoint from fish-speech's uv.lock (PyPI's torch:
# download.pytorch.org is not reachable here) plus our pinned protobuf and num2words, a
# tiny random S1-mini written by fish-speech's own savers (tests/training/make_tiny_s1.py;
# the codec is the full-size modded_dac_vq) and a handful of generated FLEURS-style clips.
# It shows:
#   * the environment imports text_data_pb2 (protobuf 3.19.6 from the lock is replaced);
#   * data prepared (a clip with a date is dropped and counted; one folder per FLEURS clip),
#     tokens extracted, the dataset packed;
#   * the loss guard: the random model's first losses (ln 4367 + ln 4096 = 16.7) stop a
#     fresh run with exit 13, its checkpoints set aside; a NaN loss (lr 1e30) exits 13;
#   * LoRA: stopped by SIGTERM after a checkpoint (exit 143, nothing left running), run
#     again: resumes from that checkpoint (the step count goes on), finishes, merges,
#     synthesises codes and decodes them into a .wav;
#   * full fine-tuning: its training process killed (SIGKILL) after a checkpoint (exit 1,
#     retried by the unit), run again: resumes from its own checkpoint, not LoRA's;
#   * every logged loss finite; a finished run does nothing the next time.
# Needs PyPI (uv, ~4.5 GB of wheels the first time; cached in $BOOTSTRAP_TEST_CACHE,
# default ~/.cache/bootstrap-tests) and a CPython >= 3.10 with its headers (PyAudio builds).
# test-timeout: 2400
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_cmd git tar setsid curl
TRAIN=$REPO_ROOT/launchable/train_finnish.sh
# the pinned source: FISH_SPEECH_ARCHIVE, else the project's shared oracles (beside the checkout,
# or inside it)
ARCHIVE=${FISH_SPEECH_ARCHIVE:-}
for a in "$REPO_ROOT/../shared/oracles/fish-speech-d3df505.tar.gz" "$REPO_ROOT/shared/oracles/fish-speech-d3df505.tar.gz"; do
    [ -n "$ARCHIVE" ] || [ ! -f "$a" ] || ARCHIVE=$a
done
[ -f "$ARCHIVE" ] || skip "no fish-speech d3df505 archive (../shared/oracles, or set FISH_SPEECH_ARCHIVE)"
CACHE=${BOOTSTRAP_TEST_CACHE:-$HOME/.cache/bootstrap-tests}
mkdir -p "$CACHE"
curl -fsS -m 20 -o /dev/null https://pypi.org/simple/uv/ ||
    skip "PyPI is not reachable (fish-speech's dependencies come from there)"

# A CPython >= 3.10 with Python.h (PyAudio is built from source), as a real path.
PYBIN=
for c in python3.12 python3.11 python3.10 python3 /usr/bin/python3; do
    p=$(command -v "$c" 2>/dev/null) || continue
    real=$("$p" -c 'import sys, sysconfig, os
ok = sys.version_info >= (3, 10) and os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))
print(sys.executable if ok else "")' 2>/dev/null) || continue
    if [ -n "$real" ]; then PYBIN=$real; break; fi
done
[ -n "$PYBIN" ] || skip "no CPython >= 3.10 with its headers (python3-dev)"
echo "using $PYBIN"

W=$T/ws
MODEL=$W/checkpoints/openaudio-s1-mini
STATE=$T/state
mkdir -p "$W" "$STATE" "$T/home"
train() {   # train [args...]: as bootstrap starts it (env -i, the handed-over variables)
    set +e
    env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$HOME" LANG=C.UTF-8 \
        BOOTSTRAP_WORKSPACE="$W" BOOTSTRAP_MODEL_DIR="$MODEL" BOOTSTRAP_DATA_DIR="$W/data" \
        BOOTSTRAP_GPU_COUNT=0 BOOTSTRAP_ALLOW_NO_GPU=1 BOOTSTRAP_DONE_FILE="$STATE/entrypoint.done" \
        BOOTSTRAP_STATE_DIR="$STATE" HF_HUB_OFFLINE=1 \
        FISH_SPEECH_ARCHIVE="$ARCHIVE" TRAIN_TORCH=pypi TRAIN_PYTHON="$PYBIN" \
        UV_PYTHON_DOWNLOADS=never UV_CACHE_DIR="$CACHE/uv" TRAIN_MIN_CLIPS=4 \
        TRAIN_SAMPLE_MAX_TOKENS=24 "${NET_ENV[@]}" "${TRAIN_ENV[@]}" \
        bash "$TRAIN" --cpu "$@" >"$T/out" 2>"$T/err"
    RC=$?
    set -e
    echo "--- train_finnish.sh $* -> $RC"; tail -n 25 "$T/err"
}
# the network and TLS settings bootstrap's allow-list hands over (docs/handoff.md)
NET_ENV=()
for v in HTTP_PROXY HTTPS_PROXY NO_PROXY ALL_PROXY http_proxy https_proxy no_proxy all_proxy \
    SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE CURL_CA_BUNDLE; do
    [ -z "${!v:-}" ] || NET_ENV+=("$v=${!v}")
done
TRAIN_ENV=()
FS=$W/fish-speech
PY=$FS/.venv/bin/python
losses_finite() {   # every train/loss=... in the logs is a number
    local bad
    bad=$(cat "$W"/logs/train-*.log | tr '\r' '\n' | grep -ao 'train/loss=[^,] *[^,]*' |
        grep -v -E 'train/loss=[0-9]+(\.[0-9]+)?$' || true)
    [ -z "$bad" ] || fail "non-finite losses logged in $1: $bad"
}

first_ckpt() {   # first_ckpt MODE PID: wait (3 min at most) for the run's first checkpoint
    local c _
    for _ in $(seq 1 1800); do
        c=$(find "$FS/results/finnish-$1/checkpoints" -name 'step_*.ckpt' 2>/dev/null | sort | head -n1)
        [ -z "$c" ] || { echo "$c"; return 0; }
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# stop_after_ckpt MODE STEPS SIGNAL PATTERN: train MODE for STEPS (a checkpoint every 4) in
# the background, send SIGNAL to the processes matching PATTERN once the first checkpoint is
# there; the entrypoint's exit status in rc
stop_after_ckpt() {
    ( train --mode "$1" --max-steps "$2" --save-every 4; exit "$RC" ) &
    local bg=$!
    first_ckpt "$1" "$bg" >/dev/null || fail "no $1 checkpoint appeared"
    pkill "-$3" -f "$4" || true
    set +e; wait "$bg"; rc=$?; set -e
}

# ---- the environment, from the entrypoint ------------------------------------------------
t0=$(date +%s)
train --stop-after venv
assert_eq "$RC" 0 "environment step"
echo "environment in $(( $(date +%s) - t0 )) s"
assert_contains "$T/out" "environment ok: torch 2.8.0"
assert_contains "$T/out" "apply --check $REPO_ROOT/launchable/fish-speech-patches/0002-lora-resume.patch"
"$W/.tools/uv-0.8.15/uv" --version | grep -q '^uv 0.8.15' || fail "uv 0.8.15 not installed"
grep -q '_keep_weights' "$FS/fish_speech/models/text2semantic/lora.py" || fail "LoRA patch not applied"
grep -q 'strict_loading = False' "$FS/fish_speech/models/text2semantic/lit_module.py" || fail "resume patch not applied"
pbv=$("$PY" -c 'import google.protobuf as p; print(p.__version__)')
assert_eq "$pbv" "4.25.8" "protobuf in fish-speech's environment"
# the lock alone (protobuf 3.19.6) cannot import the generated protos: the defect is real
grep -A1 '^name = "protobuf"' "$FS/uv.lock" | grep -q 'version = "3.19.6"' || fail "the lock no longer pins protobuf 3.19.6"

# ---- a tiny S1-mini and FLEURS-shaped Finnish clips ---------------------------------------
"$PY" "$REPO_ROOT/tests/training/make_tiny_s1.py" "$FS" "$MODEL" --codec "$CACHE/codec-modded_dac_vq-seed1234.pth" 2>&1 | tail -n 2
for f in config.json model.pth codec.pth tokenizer.tiktoken special_tokens.json; do
    [ -s "$MODEL/$f" ] || fail "the tiny model lacks $f"
done
# patch 0001: the LoRA setup keeps every base tensor; fish-speech as released does not
mkdir -p "$T/pristine"
tar -xzf "$ARCHIVE" -C "$T/pristine" --strip-components=1
lora_keeps() {   # lora_keeps FISH_SPEECH_DIR: prints how many base tensors changed
    "$PY" - "$1" "$MODEL" <<'EOF'
import sys, torch
sys.path.insert(0, sys.argv[1])
from fish_speech.models.text2semantic.llama import BaseTransformer
from fish_speech.models.text2semantic.lora import LoraConfig
m = BaseTransformer.from_pretrained(sys.argv[2], load_weights=True, lora_config=LoraConfig(r=8, lora_alpha=16))
w = torch.load(sys.argv[2] + "/model.pth", map_location="cpu", weights_only=True)
sd = m.state_dict()
print(sum(1 for k in w if k in sd and not torch.equal(w[k], sd[k])))
EOF
}
changed=$(lora_keeps "$FS" 2>/dev/null | tail -n1)
assert_eq "$changed" 0 "base tensors changed by the patched LoRA setup"
changed=$(lora_keeps "$T/pristine" 2>/dev/null | tail -n1)
[ "$changed" -gt 10 ] || fail "unpatched fish-speech kept the base weights ($changed changed): is the defect gone?"
echo "unpatched LoRA setup re-initialises $changed base tensors; patched: 0"
mkdir -p "$W/data/fleurs_fi/audio/train"
"$PY" - "$W/data/fleurs_fi" <<'EOF'
import math, struct, sys, wave
root = sys.argv[1]
texts = ["Hyvää huomenta kaikille.", "Kokous on 5:ssä kerroksessa.",
         "Korko nousi 10 %:lla viime vuonna.", "Rakennus valmistui 2000-luvulla.",
         "Noin 20 prosentissa tapauksista.", "Se alkoi 1. maailmansodan aikana.",
         "Päivä 1.5.2020 oli lauantai.", "Meri oli tyyni koko illan."]
with open(root + "/train.tsv", "w", encoding="utf-8") as tsv:
    for i, t in enumerate(texts):
        name = "%d.wav" % (1000 + i)
        sr, secs = 16000, 1.0 + 0.15 * i
        with wave.open(root + "/audio/train/" + name, "wb") as w:
            w.setnchannels(1); w.setsampwidth(2); w.setframerate(sr)
            w.writeframes(b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * (150 + 30 * i) * n / sr)))
                                   for n in range(int(sr * secs))))
        tsv.write("%d\t%s\t%s\t%s\t%d\t%d\t%s\n" % (i, name, t, t.lower(), len(t), int(sr * secs),
                                                  "FEMALE" if i % 2 else "MALE"))
EOF

# ---- LoRA: the loss guard sees the random weights ------------------------------------------
train --mode lora --max-steps 40 --save-every 4
assert_eq "$RC" 13 "exit status for random base weights"
assert_contains "$T/err" "the base weights were not loaded"
assert_contains "$T/err" "Its checkpoints were moved to"
assert_contains "$T/out" "prepare_data: 7 clips in 7 speaker folder(s); 1 of 8 dropped"
[ "$(find "$FS/data/fi" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 7 ] || fail "not one folder per FLEURS clip"
assert_eq "$(cat "$FS/data/fi/fleurs-1001/1001.lab")" "Kokous on viidessä kerroksessa."
assert_eq "$(cat "$FS/data/fi/fleurs-1005/1005.lab")" "Se alkoi ensimmäisen maailmansodan aikana."
"$PYBIN" - "$W/.train-steps/guard-finnish-lora.json" <<'EOF' || fail "guard status"
import json, math, sys
g = json.load(open(sys.argv[1]))
print(g)
assert g["verdict"] == "random_weights", g
u = math.log(4367) + math.log(4096)
assert abs(g["uniform_loss"] - u) < 0.01 and g["limit"] == round(0.75 * u, 3), g
assert len(g["first_losses"]) == 5 and g["first_mean"] > g["limit"], g
EOF
[ ! -d "$FS/results/finnish-lora/checkpoints" ] || fail "the random run's checkpoints would be resumed"
ls -d "$FS"/results/finnish-lora/checkpoints.random-weights-* >/dev/null || fail "checkpoints not set aside"
losses_finite "the guarded run"

# ---- LoRA: stopped after a checkpoint, resumed, merged, sampled ---------------------------
TRAIN_ENV=(TRAIN_LOSS_LIMIT=off)
stop_after_ckpt lora 24 TERM "bash $TRAIN --cpu --mode lora"
assert_eq "$rc" 143 "exit status after SIGTERM"
sleep 1
! pgrep -f "fish_speech/train.py" >/dev/null || fail "training still runs after SIGTERM"
[ -f "$W/.train-steps/train-finnish-lora.done" ] && fail "the run finished before it was stopped (the machine is too fast for this test: raise --max-steps)"
assert_contains "$W/logs/train-finnish-lora.log" "=== "
stopped_at=$(find "$FS/results/finnish-lora/checkpoints" -name 'step_*.ckpt' | sort | tail -n1)
echo "stopped with $stopped_at"

train --mode lora --max-steps 24 --save-every 4
assert_eq "$RC" 0 "LoRA resumed run"
assert_contains "$T/err" "resuming from $stopped_at"
assert_contains "$W/logs/train-finnish-lora.log" "Resuming from checkpoint: results/finnish-lora/checkpoints/$(basename "$stopped_at")"
[ -f "$FS/results/finnish-lora/checkpoints/step_000000024.ckpt" ] || fail "the LoRA run did not reach step 24"
"$PYBIN" - "$W/.train-steps/guard-finnish-lora.json" <<'EOF' || fail "guard status after the resume"
import json, sys
g = json.load(open(sys.argv[1])); print(g)
assert g["verdict"] == "finished" and g["step"] == 24 and g["fresh_start"] is False, g
EOF
"$PY" - "$FS/results/finnish-lora/checkpoints/step_000000024.ckpt" <<'EOF' || fail "LoRA checkpoint"
import sys, torch
ck = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
keys = list(ck["state_dict"])
assert ck["global_step"] == 24, ck["global_step"]
assert keys and all("lora_" in k for k in keys), keys[:5]
print("LoRA checkpoint: step", ck["global_step"], len(keys), "LoRA tensors")
EOF
[ -s "$FS/checkpoints/openaudio-s1-mini-fi-lora/model.pth" ] || fail "no merged model"
wav=$W/samples/finnish-lora/sample.wav
[ -s "$W/samples/finnish-lora/codes_0.npy" ] || fail "no codes"
"$PYBIN" - "$wav" <<'EOF' || fail "sample.wav"
import sys, wave
w = wave.open(sys.argv[1])
assert w.getframerate() == 44100 and w.getnframes() > 4410, (w.getframerate(), w.getnframes())
print("sample:", w.getnframes() / w.getframerate(), "s at", w.getframerate(), "Hz")
EOF
assert_contains "$T/err" "a sample: $wav"
assert_contains "$STATE/entrypoint.done" "T"
losses_finite "the LoRA runs"

# a finished run does nothing the next time
train --mode lora
assert_eq "$RC" 0 "a run after the end"
assert_contains "$T/err" "already finished"
assert_not_contains "$T/out" "train.py"
rm -f "$STATE/entrypoint.done"

# ---- a NaN loss stops the run: exit 13, not retried -----------------------------------------
train --mode lora --project nan --max-steps 20 --save-every 10 --override model.optimizer.lr=1e30
assert_eq "$RC" 13 "exit status for a NaN loss"
assert_contains "$T/err" "the training loss became nan"

# ---- full fine-tuning: the training process killed, the unit's retry resumes ------------------
stop_after_ckpt full 16 KILL "fish_speech/train.py.*project=finnish-full"
assert_eq "$rc" 1 "exit status after the training was killed (the unit retries 1)"
grep -q 'training exited with status' "$T/err" || fail "the killed training was not reported: $(tail -n 3 "$T/err")"
grep -q 'failure 1 of 3' "$T/err" || fail "no failure count"
killed_at=$(find "$FS/results/finnish-full/checkpoints" -name 'step_*.ckpt' | sort | tail -n1)
train --mode full --max-steps 16 --save-every 4
assert_eq "$RC" 0 "full fine-tuning resumed"
assert_contains "$W/logs/train-finnish-full.log" "Resuming from checkpoint: results/finnish-full/checkpoints/$(basename "$killed_at")"
assert_not_contains "$W/logs/train-finnish-full.log" "Resuming from checkpoint: results/finnish-lora"
[ -f "$FS/results/finnish-full/checkpoints/step_000000016.ckpt" ] || fail "the full run did not reach step 16"
[ -s "$FS/checkpoints/openaudio-s1-mini-fi-full/model.pth" ] || fail "no exported model"
[ -s "$W/samples/finnish-full/sample.wav" ] || fail "no sample of the full fine-tune"
losses_finite "the full runs"
echo "whole test in $(( $(date +%s) - t0 )) s"
