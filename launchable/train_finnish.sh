#!/bin/bash
# train_finnish.sh - the Launchable's entrypoint: fine-tune openaudio-s1-mini in Finnish.
#
# bootstrap hands off to this script (execve) once the model and the data are on disk;
# docs/handoff.md is the contract (BOOTSTRAP_* variables, exit codes). It:
#   1. installs the system packages fish-speech needs (portaudio, sox, ffmpeg) and uv;
#   2. checks out fish-speech at d3df505 (the last commit that loads S1-mini) and applies
#      the LoRA loading fix of cccb997 (LoRA layers set up before the weights are loaded);
#   3. creates the Python environment (uv sync, the CUDA extra chosen from the driver);
#   4. prepares the Finnish data: speaker folders of .wav + .lab, numbers as words;
#   5. extracts the semantic tokens, packs the dataset, trains (LoRA, or full where the
#      GPU is large enough), stopping early when the first loss shows the random-weights
#      symptom (about 22 instead of about 8), and merges the LoRA weights.
# Every step is restartable: finished steps leave a marker in $WORKSPACE/.train-steps,
# extract_vq skips clips that have tokens, and train.py resumes from its last checkpoint.
# When everything is done it creates $BOOTSTRAP_DONE_FILE, so the boot unit stops.
#
# Usage: train_finnish.sh [--dry-run] [--mode lora|full|auto] [--max-steps N] [--help]
set -euo pipefail

usage() {
    cat <<'EOF'
usage: train_finnish.sh [options]

Fine-tunes fishaudio/openaudio-s1-mini on Finnish speech with fish-speech. Meant to be
started by 'bootstrap' (which sets BOOTSTRAP_MODEL_DIR, BOOTSTRAP_DATA_DIR, ...), but
runs by hand too. Restartable: run it again after any failure.

options:
  --dry-run            print every command it would run, run nothing
  --mode MODE          lora (default, $TRAIN_MODE), full (needs >= 40 GiB of GPU
                       memory), or auto (full when the GPU is large enough)
  --project NAME       training project name (default finnish, $TRAIN_PROJECT)
  --max-steps N        training steps (default 2000, $TRAIN_MAX_STEPS)
  --batch-size N       batch size (default 4, $TRAIN_BATCH_SIZE)
  --loss-limit X       stop when the first logged loss is above X (default 15;
                       healthy S1-mini starts near 8, random weights near 22)
  --skip-system-packages   do not apt-get install portaudio19-dev libsox-dev ffmpeg
  -h, --help           this text

exit status: 0 done; 2 bad option or unusable data; 3 no suitable GPU;
13 training stopped: the first loss shows random base weights (do not retry);
other: a step failed (the boot unit retries; the script resumes where it stopped).
EOF
}

log() { printf '[train_finnish] %s\n' "$*" >&2; }
die() { local code=$1; shift; log "error: $*"; exit "$code"; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DRY=0
MODE=${TRAIN_MODE:-lora}
PROJECT=${TRAIN_PROJECT:-finnish}
MAX_STEPS=${TRAIN_MAX_STEPS:-2000}
BATCH=${TRAIN_BATCH_SIZE:-4}
LOSS_LIMIT=${TRAIN_LOSS_LIMIT:-15}
FULL_MIN_GIB=${TRAIN_FULL_MIN_VRAM_GIB:-40}
POLL_S=${TRAIN_POLL_SECONDS:-5}
SKIP_SYSTEM=0
LORA_CONFIG=r_8_alpha_16

while [ $# -gt 0 ]; do
    case $1 in
    --dry-run) DRY=1 ;;
    --mode) MODE=${2:?--mode needs a value}; shift ;;
    --project) PROJECT=${2:?--project needs a value}; shift ;;
    --max-steps) MAX_STEPS=${2:?--max-steps needs a value}; shift ;;
    --batch-size) BATCH=${2:?--batch-size needs a value}; shift ;;
    --loss-limit) LOSS_LIMIT=${2:?--loss-limit needs a value}; shift ;;
    --skip-system-packages) SKIP_SYSTEM=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die 2 "unknown option '$1'" ;;
    esac
    shift
done
case $MODE in lora|full|auto) ;; *) die 2 "--mode must be lora, full or auto, not '$MODE'" ;; esac
[[ $MAX_STEPS =~ ^[0-9]+$ && $BATCH =~ ^[0-9]+$ ]] || die 2 "--max-steps and --batch-size are whole numbers"
[[ $LOSS_LIMIT =~ ^[0-9]+([.][0-9]+)?$ ]] || die 2 "--loss-limit is a number"
[[ $PROJECT =~ ^[A-Za-z0-9._-]+$ ]] || die 2 "--project may use letters, digits, '.', '_' and '-'"

# ---- what bootstrap hands over (docs/handoff.md) -----------------------------------
WS=${BOOTSTRAP_WORKSPACE:-$PWD}
MODEL_DIR=${BOOTSTRAP_MODEL_DIR:-$WS/checkpoints/openaudio-s1-mini}
DATA=${BOOTSTRAP_DATA_DIR:-$WS/data}
GPUS=${BOOTSTRAP_GPU_COUNT:-0}
DONE_FILE=${BOOTSTRAP_DONE_FILE:-$WS/.train-steps/all.done}
FS_URL=${FISH_SPEECH_URL:-https://github.com/fishaudio/fish-speech.git}
FS_COMMIT=${FISH_SPEECH_COMMIT:-d3df505}
FIX_COMMIT=${FISH_SPEECH_LORA_FIX:-cccb997}
FIX_FILE=fish_speech/models/text2semantic/lora.py
FLEURS_AUDIO=${FLEURS_AUDIO:-fleurs_fi/audio}
FLEURS_TSV=${FLEURS_TSV:-fleurs_fi/train.tsv}
UV_VERSION=${UV_VERSION:-0.8.15}
REPO=$WS/fish-speech
STEPS=$WS/.train-steps
LOGDIR=$WS/logs
TRAIN_LOG=$LOGDIR/train-$PROJECT.log
CKPT_DIR=$REPO/results/$PROJECT/checkpoints
OUT_DIR=$REPO/checkpoints/openaudio-s1-mini-fi-$MODE
export PYTHONUTF8=1 PYTHONUNBUFFERED=1
export PATH="$HOME/.local/bin:$PATH"

# Print a command (shell-quoted) and run it, unless --dry-run.
run() {
    printf '+'; printf ' %q' "$@"; printf '\n'
    [ "$DRY" = 1 ] && return 0
    "$@"
}
# The same inside the fish-speech checkout (its configs use paths relative to it).
in_repo() {
    printf '+ (cd %q &&' "$REPO"; printf ' %q' "$@"; printf ')\n'
    [ "$DRY" = 1 ] && return 0
    (cd "$REPO" && "$@")
}
done_step() { [ -f "$STEPS/$1.done" ]; }
mark_step() { [ "$DRY" = 1 ] || { mkdir -p "$STEPS" && : >"$STEPS/$1.done"; }; }
skip_note() { log "step '$1': done already ($STEPS/$1.done)"; }

[ "$DRY" = 1 ] && log "dry run: printing the commands, running none"
log "workspace $WS, model $MODEL_DIR, data $DATA, $GPUS GPU(s), mode $MODE"
if [ "$GPUS" -lt 1 ] && [ "$DRY" = 0 ]; then
    die 3 "no usable GPU (BOOTSTRAP_GPU_COUNT=$GPUS): the fine-tune needs an NVIDIA GPU; --dry-run shows the commands"
fi
if [ -f "$DONE_FILE" ] && [ "$DRY" = 0 ]; then
    log "already finished ($DONE_FILE exists); the output is in $OUT_DIR"
    exit 0
fi
[ "$DRY" = 1 ] || mkdir -p "$STEPS" "$LOGDIR"

# ---- 1. system packages and uv -------------------------------------------------------
if [ "$SKIP_SYSTEM" = 0 ] && ! done_step system; then
    missing=()
    for p in portaudio19-dev libsox-dev ffmpeg; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ] || [ "$DRY" = 1 ]; then
        [ ${#missing[@]} -gt 0 ] || missing=(portaudio19-dev libsox-dev ffmpeg)
        SUDO=(); [ "$(id -u)" -eq 0 ] || SUDO=(sudo -n)
        # Brev's own start-up runs apt at the same time: wait for the lock, and go on
        # with the package lists at hand when 'update' fails.
        run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq ||
            log "apt-get update failed; trying with the package lists at hand"
        run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
            install -y -qq --no-install-recommends "${missing[@]}"
    fi
    mark_step system
fi
if ! command -v uv >/dev/null 2>&1 || [ "$DRY" = 1 ]; then
    run python3 -m pip install --user --quiet "uv==$UV_VERSION"
fi

# ---- 2. fish-speech at d3df505 + the LoRA fix of cccb997 ----------------------------
if ! done_step checkout; then
    if [ ! -d "$REPO/.git" ]; then
        run git clone --quiet "$FS_URL" "$REPO"
    fi
    # both commits must be in the clone: the pin and the one carrying the fix
    if [ "$DRY" = 1 ] || ! git -C "$REPO" cat-file -e "$FS_COMMIT^{commit}" 2>/dev/null ||
        ! git -C "$REPO" cat-file -e "$FIX_COMMIT^{commit}" 2>/dev/null; then
        run git -C "$REPO" fetch --quiet origin
    fi
    run git -C "$REPO" -c advice.detachedHead=false checkout --quiet --force "$FS_COMMIT"
    if [ "$DRY" = 0 ]; then
        head=$(git -C "$REPO" rev-parse HEAD)
        [[ $head == "$FS_COMMIT"* ]] || die 1 "fish-speech is at $head, not $FS_COMMIT"
    fi
    PATCH=$STEPS/lora-fix-$FIX_COMMIT.patch
    if [ "$DRY" = 1 ]; then
        printf '+ git -C %q show %q -- %q > %q\n' "$REPO" "$FIX_COMMIT" "$FIX_FILE" "$PATCH"
    else
        git -C "$REPO" show --format= "$FIX_COMMIT" -- "$FIX_FILE" >"$PATCH"
        [ -s "$PATCH" ] || die 1 "commit $FIX_COMMIT does not touch $FIX_FILE: cannot apply the LoRA fix"
    fi
    if [ "$DRY" = 0 ] && git -C "$REPO" apply --reverse --check "$PATCH" 2>/dev/null; then
        log "the LoRA fix of $FIX_COMMIT is already applied"
    else
        run git -C "$REPO" apply --check "$PATCH"
        run git -C "$REPO" apply "$PATCH"
    fi
    mark_step checkout
else
    skip_note checkout
fi

# ---- 3. the Python environment -------------------------------------------------------
cuda_extra() {
    local v
    v=$({ nvidia-smi 2>/dev/null || true; } | sed -n 's/.*CUDA Version: *\([0-9]*\.[0-9]*\).*/\1/p' | head -n1)
    case $v in
    "") echo cu126 ;;
    *) if awk -v v="$v" 'BEGIN { exit !(v >= 12.9) }'; then echo cu129
       elif awk -v v="$v" 'BEGIN { exit !(v >= 12.8) }'; then echo cu128
       else echo cu126; fi ;;
    esac
}
EXTRA=$(cuda_extra)
if ! done_step "venv-$EXTRA"; then
    in_repo uv sync --python 3.12 --extra "$EXTRA"
    mark_step "venv-$EXTRA"
else
    skip_note "venv-$EXTRA"
fi

# The configs expect the base model at checkpoints/openaudio-s1-mini.
if [ "$(cd "$MODEL_DIR" 2>/dev/null && pwd -P)" != "$(cd "$REPO/checkpoints/openaudio-s1-mini" 2>/dev/null && pwd -P)" ] ||
    [ "$DRY" = 1 ]; then
    run mkdir -p "$REPO/checkpoints"
    run ln -sfn "$MODEL_DIR" "$REPO/checkpoints/openaudio-s1-mini"
fi

# ---- 4. the Finnish data -------------------------------------------------------------
if ! done_step data; then
    set +e
    run python3 "$HERE/prepare_data.py" --tsv "$DATA/$FLEURS_TSV" --audio "$DATA/$FLEURS_AUDIO" \
        --out "$REPO/data/fi" --speakers gender --min-clips 100
    rc=$?
    set -e
    [ $rc -eq 0 ] || die 2 "the Finnish data could not be prepared (prepare_data.py exit $rc)"
    mark_step data
else
    skip_note data
fi

# ---- 5. semantic tokens, packing -----------------------------------------------------
if ! done_step vq; then
    # skips clips that already have their .npy: restartable by itself
    in_repo uv run python tools/vqgan/extract_vq.py data/fi --num-workers "$(( GPUS > 0 ? GPUS : 1 ))" \
        --batch-size 16 --config-name modded_dac_vq \
        --checkpoint-path checkpoints/openaudio-s1-mini/codec.pth
    mark_step vq
else
    skip_note vq
fi
if ! done_step protos; then
    run rm -rf "$REPO/data/protos"
    in_repo uv run python tools/llama/build_dataset.py --input data/fi --output data/protos \
        --text-extension .lab --num-workers 16
    mark_step protos
else
    skip_note protos
fi

# ---- 6. LoRA or full fine-tuning -----------------------------------------------------
vram_gib() {
    { nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null || true; } |
        sort -n | tail -n1 | awk '{ printf "%d", $1 / 1024 }'
}
VRAM=$(vram_gib || true); VRAM=${VRAM:-0}
if [ "$MODE" = auto ]; then
    if [ "$VRAM" -ge "$FULL_MIN_GIB" ]; then MODE=full; else MODE=lora; fi
    OUT_DIR=$REPO/checkpoints/openaudio-s1-mini-fi-$MODE
    log "mode auto: $MODE ($VRAM GiB of GPU memory)"
elif [ "$MODE" = lora ] && [ "$VRAM" -ge "$FULL_MIN_GIB" ]; then
    log "this GPU has $VRAM GiB: full fine-tuning is possible and may suit S1-mini better" \
        "(it is RL-tuned; LoRA may barely move it): TRAIN_MODE=full or --mode full"
elif [ "$MODE" = full ] && [ "$VRAM" -lt "$FULL_MIN_GIB" ] && [ "$DRY" = 0 ]; then
    die 3 "full fine-tuning needs at least $FULL_MIN_GIB GiB of GPU memory, this GPU has $VRAM GiB: use --mode lora"
fi

# The finetune config trains in bf16; GPUs below compute capability 8.0 (T4, V100) have no
# bf16, so they train in fp16 mixed precision instead (the hardware report says which).
PRECISION=bf16-true
if [ -f "${BOOTSTRAP_HW_REPORT:-}" ] && python3 - "$BOOTSTRAP_HW_REPORT" <<'PY'
import json, sys
gpus = [g for g in json.load(open(sys.argv[1])).get("gpus", []) if g.get("bf16") is not None]
sys.exit(0 if gpus and not all(g["bf16"] for g in gpus) else 1)
PY
then
    PRECISION=16-mixed
    log "this GPU has no bf16 (compute capability below 8.0): training in fp16 mixed precision"
fi

TRAIN=(uv run python fish_speech/train.py --config-name text2semantic_finetune
       "project=$PROJECT" pretrained_ckpt_path=checkpoints/openaudio-s1-mini
       "trainer.max_steps=$MAX_STEPS" "data.batch_size=$BATCH" "trainer.precision=$PRECISION")
[ "$MODE" = lora ] && TRAIN+=("+lora@model.model.lora_config=$LORA_CONFIG")

# First "train/loss=X" this run's progress bar printed (the log is appended), or nothing yet.
LOG_START=0
first_loss() {
    { tail -c +"$((LOG_START + 1))" "$TRAIN_LOG" 2>/dev/null | grep -ao 'train/loss=[0-9.]*' || true; } |
        head -n1 | cut -d= -f2
}

train_pid=
stop_training() { [ -n "$train_pid" ] && kill -TERM -- "-$train_pid" 2>/dev/null; wait 2>/dev/null; exit 143; }

if ! done_step "train-$MODE"; then
    if [ "$DRY" = 1 ]; then
        printf '+ (cd %q &&' "$REPO"; printf ' %q' "${TRAIN[@]}"; printf ') >> %q 2>&1\n' "$TRAIN_LOG"
        log "would stop the training if the first logged loss is above $LOSS_LIMIT"
    else
        log "training ($MODE, $MAX_STEPS steps); output in $TRAIN_LOG; resumes from the last checkpoint in $CKPT_DIR"
        printf '\n=== %s start (%s) ===\n' "$(date -u +%FT%TZ)" "$MODE" >>"$TRAIN_LOG"
        LOG_START=$(stat -c %s "$TRAIN_LOG")
        trap stop_training TERM INT
        (cd "$REPO" && exec setsid "${TRAIN[@]}") >>"$TRAIN_LOG" 2>&1 &
        train_pid=$!
        tail -n0 -F "$TRAIN_LOG" --pid="$train_pid" 2>/dev/null &
        checked=0
        # one look at the first loss; exit 13 on the random-weights symptom
        check_loss() {
            [ "$checked" = 0 ] || return 0
            local loss
            loss=$(first_loss)
            [ -n "$loss" ] || return 0
            checked=1
            if awk -v l="$loss" -v m="$LOSS_LIMIT" 'BEGIN { exit !(l > m) }'; then
                kill -TERM -- "-$train_pid" 2>/dev/null || true
                wait "$train_pid" 2>/dev/null || true
                mkdir -p "$STEPS" && echo "$loss" >"$STEPS/random-weights-symptom"
                die 13 "the first loss is $loss (healthy S1-mini starts near 8; near 22 means the base weights were not loaded - fishaudio/fish-speech#1163): check that the LoRA fix of $FIX_COMMIT is applied; not retrying"
            fi
            log "first loss $loss: the base weights are loaded"
        }
        while kill -0 "$train_pid" 2>/dev/null; do
            check_loss
            sleep "$POLL_S"
        done
        check_loss
        set +e
        wait "$train_pid"
        rc=$?
        set -e
        trap - TERM INT
        [ $rc -eq 0 ] || die 1 "training exited with status $rc (see $TRAIN_LOG); run again to resume from the last checkpoint"
    fi
    mark_step "train-$MODE"
else
    skip_note "train-$MODE"
fi

# ---- 7. merge (LoRA) or export (full) ------------------------------------------------
latest_ckpt() { { find "$CKPT_DIR" -maxdepth 1 -name 'step_*.ckpt' 2>/dev/null || true; } | sort | tail -n1; }
if ! done_step "output-$MODE"; then
    CKPT=$(latest_ckpt)
    [ -n "$CKPT" ] || CKPT=$CKPT_DIR/step_NNNNNNNNN.ckpt
    [ "$DRY" = 1 ] || [ -f "$CKPT" ] || die 1 "no checkpoint in $CKPT_DIR"
    if [ "$MODE" = lora ]; then
        in_repo uv run python tools/llama/merge_lora.py --lora-config "$LORA_CONFIG" \
            --base-weight checkpoints/openaudio-s1-mini --lora-weight "$CKPT" --output "$OUT_DIR/"
    else
        # A full fine-tune's checkpoint holds the Lightning module; keep the model's weights.
        in_repo uv run python -c 'import os, shutil, sys, torch
ck = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
sd = {k[6:]: v for k, v in ck.get("state_dict", ck).items() if k.startswith("model.")}
os.makedirs(sys.argv[3], exist_ok=True)
torch.save(sd, os.path.join(sys.argv[3], "model.pth"))
for f in ("config.json", "tokenizer.tiktoken", "special_tokens.json"):
    shutil.copy(os.path.join(sys.argv[2], f), sys.argv[3])' "$CKPT" checkpoints/openaudio-s1-mini "$OUT_DIR"
    fi
    mark_step "output-$MODE"
else
    skip_note "output-$MODE"
fi

if [ "$DRY" = 0 ]; then
    mkdir -p "$(dirname "$DONE_FILE")"
    date -u +%FT%TZ >"$DONE_FILE"
fi
log "done: the fine-tuned model is in $OUT_DIR (use it with the base codec $MODEL_DIR/codec.pth)"
log "try it: cd $REPO && uv run python fish_speech/models/text2semantic/inference.py --text 'Hyvää huomenta!' --checkpoint-path $OUT_DIR"
