#!/bin/bash
# train_finnish.sh - the Launchable's entrypoint: fine-tune openaudio-s1-mini in Finnish.
#
# bootstrap hands off to this script (execve) once the model and the data are on disk;
# docs/handoff.md is the contract (BOOTSTRAP_* variables, exit codes), docs/launchable.md
# describes every step. It:
#   1. installs the system packages fish-speech needs (portaudio, sox, ffmpeg, a compiler:
#      PyAudio builds from source) and a pinned uv (PyPI wheel, sha256-checked);
#   2. gets fish-speech at d3df505 (git, or a pinned archive) and applies our patches
#      (fish-speech-patches/: LoRA keeps the base weights, LoRA checkpoints resume, token
#      extraction works without CUDA and fails when a worker fails);
#   3. creates the Python environment from fish-speech's lock (uv sync --frozen, the torch
#      build chosen from the driver), then installs fish-speech-requirements.txt (protobuf
#      >= 3.20, num2words) with hashes; everything after runs .venv/bin/python, never
#      'uv run' (which would re-sync and undo that);
#   4. prepares the Finnish data (one voice per folder, numbers as spoken words);
#   5. extracts the semantic tokens, packs the dataset, trains (LoRA or full; a loss guard
#      stops a run whose first losses show random weights or whose loss is not finite),
#      merges or exports the weights, and synthesises a sample .wav.
# Every step is restartable: finished steps leave a marker in $WORKSPACE/.train-steps,
# extract_vq skips clips that have tokens, and train.py resumes from its last checkpoint.
# When everything is done it creates $BOOTSTRAP_DONE_FILE, so the boot unit stops.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: train_finnish.sh [options]

Fine-tunes fishaudio/openaudio-s1-mini on Finnish speech with fish-speech. Meant to be
started by 'bootstrap' (which sets BOOTSTRAP_MODEL_DIR, BOOTSTRAP_DATA_DIR, ...), but
runs by hand too. Restartable: run it again after any failure.

options:
  --mode MODE          lora (default, $TRAIN_MODE), full (needs >= 40 GiB of GPU memory),
                       or auto (full when every GPU is large enough)
  --project NAME       training project (default finnish, $TRAIN_PROJECT); checkpoints go
                       to fish-speech/results/NAME-MODE/checkpoints
  --max-steps N        training steps (default 2000, $TRAIN_MAX_STEPS)
  --batch-size N       batch size per GPU (default 4, $TRAIN_BATCH_SIZE)
  --save-every N       checkpoint every N steps (default 100, $TRAIN_SAVE_EVERY)
  --loss-limit X       stop a fresh run whose first 5 losses average above X: a number,
                       auto (default: 0.75 x the loss of uniform guessing for the model's
                       own vocabulary, 15.2 for S1-mini), or off ($TRAIN_LOSS_LIMIT)
  --num-nodes N        nodes of a multi-node run started with torchrun (docs/launchable.md)
  --override K=V       one more hydra override for fish_speech/train.py (repeatable)
  --sample-text TEXT   the sentence synthesised at the end ($TRAIN_SAMPLE_TEXT)
  --stop-after STEP    stop after STEP: system, uv, source, venv, data, vq, protos, train,
                       output (e.g. protos on the other nodes of a multi-node run)
  --cpu                train on the CPU: a slow smoke test of the whole pipeline
  --skip-system-packages   do not apt-get install the system packages
  --dry-run            print every command it would run, run nothing
  -h, --help           this text

environment: TRAIN_TORCH (auto, cu126, cu128, cu129, cpu, or pypi: PyPI's torch, for hosts
that cannot reach download.pytorch.org), TRAIN_PYTHON (3.12), TRAIN_DATA_FORMAT (fleurs or
ljspeech), FLEURS_TSV / FLEURS_AUDIO (under the data dir), FISH_SPEECH_ARCHIVE and
FISH_SPEECH_ARCHIVE_SHA256 (a git archive of the pinned commit instead of a clone).

exit status: 0 done; 2 bad option or unusable data; 3 no suitable GPU; 8 a download or the
fish-speech source does not match its pin, or a patch does not apply; 9 a download failed
(network: the boot unit retries); 13 the training stopped and must not be retried as it is
(random base weights, a loss that is not finite, or the same step failed 3 times in a row);
1 a step failed (the boot unit retries; the script resumes where it stopped).
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
SAVE_EVERY=${TRAIN_SAVE_EVERY:-100}
LOSS_LIMIT=${TRAIN_LOSS_LIMIT:-auto}
NUM_NODES=${TRAIN_NUM_NODES:-1}
SAMPLE_TEXT=${TRAIN_SAMPLE_TEXT:-Hyvää huomenta! Tämä ääni puhuu nyt suomea.}
FULL_MIN_GIB=${TRAIN_FULL_MIN_VRAM_GIB:-40}
MAX_FAILURES=${TRAIN_MAX_FAILURES:-3}
TORCH=${TRAIN_TORCH:-auto}
PYVER=${TRAIN_PYTHON:-3.12}
DATA_FORMAT=${TRAIN_DATA_FORMAT:-fleurs}
MIN_CLIPS=${TRAIN_MIN_CLIPS:-100}
STOP_AFTER=
CPU=0
SKIP_SYSTEM=0
OVERRIDES=()
LORA_CONFIG=r_8_alpha_16

need_value() {
    if [ $# -lt 2 ] || [ -z "$2" ]; then usage >&2; die 2 "$1 needs a value"; fi
}
while [ $# -gt 0 ]; do
    case $1 in
    --dry-run) DRY=1 ;;
    --cpu) CPU=1 ;;
    --skip-system-packages) SKIP_SYSTEM=1 ;;
    --mode) need_value "$@"; MODE=$2; shift ;;
    --project) need_value "$@"; PROJECT=$2; shift ;;
    --max-steps) need_value "$@"; MAX_STEPS=$2; shift ;;
    --batch-size) need_value "$@"; BATCH=$2; shift ;;
    --save-every) need_value "$@"; SAVE_EVERY=$2; shift ;;
    --loss-limit) need_value "$@"; LOSS_LIMIT=$2; shift ;;
    --num-nodes) need_value "$@"; NUM_NODES=$2; shift ;;
    --override) need_value "$@"; OVERRIDES+=("$2"); shift ;;
    --sample-text) need_value "$@"; SAMPLE_TEXT=$2; shift ;;
    --stop-after) need_value "$@"; STOP_AFTER=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die 2 "unknown option '$1'" ;;
    esac
    shift
done
case $MODE in lora|full|auto) ;; *) die 2 "--mode must be lora, full or auto, not '$MODE'" ;; esac
for n in "$MAX_STEPS" "$BATCH" "$SAVE_EVERY" "$NUM_NODES" "$MIN_CLIPS"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] ||
        die 2 "--max-steps, --batch-size, --save-every, --num-nodes and TRAIN_MIN_CLIPS are whole numbers of at least 1, not '$n'"
done
[[ $LOSS_LIMIT =~ ^([0-9]+([.][0-9]+)?|auto|off)$ ]] || die 2 "--loss-limit is a number, auto or off, not '$LOSS_LIMIT'"
[[ $PROJECT =~ ^[A-Za-z0-9._-]+$ ]] || die 2 "--project may use letters, digits, '.', '_' and '-'"
case $TORCH in auto|cu126|cu128|cu129|cpu|pypi) ;; *) die 2 "TRAIN_TORCH must be auto, cu126, cu128, cu129, cpu or pypi, not '$TORCH'" ;; esac
case $DATA_FORMAT in fleurs|ljspeech) ;; *) die 2 "TRAIN_DATA_FORMAT must be fleurs or ljspeech, not '$DATA_FORMAT'" ;; esac
case $STOP_AFTER in ""|system|uv|source|venv|data|vq|protos|train|output) ;;
*) die 2 "--stop-after takes system, uv, source, venv, data, vq, protos, train or output, not '$STOP_AFTER'" ;; esac
for o in "${OVERRIDES[@]}"; do [[ $o == *=* ]] || die 2 "--override takes KEY=VALUE, not '$o'"; done

# ---- what bootstrap hands over (docs/handoff.md) -----------------------------------
WS=${BOOTSTRAP_WORKSPACE:-$PWD}
MODEL_DIR=${BOOTSTRAP_MODEL_DIR:-$WS/checkpoints/openaudio-s1-mini}
DATA=${BOOTSTRAP_DATA_DIR:-$WS/data}
DONE_FILE=${BOOTSTRAP_DONE_FILE:-$WS/.train-steps/all.done}
FS_URL=${FISH_SPEECH_URL:-https://github.com/fishaudio/fish-speech.git}
FS_COMMIT=${FISH_SPEECH_COMMIT:-d3df50503b36314a964f66cac1af1e19e95bcfa3}
FS_ARCHIVE=${FISH_SPEECH_ARCHIVE:-}
FS_ARCHIVE_SHA256=${FISH_SPEECH_ARCHIVE_SHA256:-1220ce3b5fc901d348fe3f7bbf92b1c6d7bf7be89feb5a6856941210722200ce}
FLEURS_AUDIO=${FLEURS_AUDIO:-fleurs_fi/audio}
FLEURS_TSV=${FLEURS_TSV:-fleurs_fi/train.tsv}
PATCHES=$HERE/fish-speech-patches
REQUIREMENTS=$HERE/fish-speech-requirements.txt
REPO=$WS/fish-speech
STEPS=$WS/.train-steps
LOGDIR=$WS/logs
export PYTHONUTF8=1 PYTHONUNBUFFERED=1
# uv: a managed CPython (it has the headers PyAudio's build needs), never a download of
# Python's own when the caller said so (UV_PYTHON_DOWNLOADS=never, the CPU test)
export UV_PYTHON_PREFERENCE=${UV_PYTHON_PREFERENCE:-managed}

# uv 0.8.15 (what upstream's Dockerfile uses): the PyPI wheel, checked against its sha256.
UV_VERSION=0.8.15
case $(uname -m) in
x86_64)
    UV_URL=https://files.pythonhosted.org/packages/13/fc/e0da45ee179367dcc1e1040ad00ed8a99b78355d43024b0b5fc2edf5c389/uv-0.8.15-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
    UV_SHA256=07765f99fd5fd3b257d7e210e8d0844c0a8fd111612e31fcca66a85656cc728e ;;
aarch64)
    UV_URL=https://files.pythonhosted.org/packages/ce/5d/180904fa7ed49081b27f00e86f7220ca62cc098d7ef6459f0c69a8ae8f74/uv-0.8.15-py3-none-manylinux_2_28_aarch64.whl
    UV_SHA256=c4868e6a4e1a8c777a5ba3cff452c405837318fb0b272ff203bfda0e1b8fc54d ;;
*) UV_URL='' UV_SHA256='' ;;
esac
UV=$WS/.tools/uv-$UV_VERSION/uv

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
mark_step() { [ "$DRY" = 1 ] || { mkdir -p "$STEPS" && : >"$STEPS/$1.done" && rm -f "$STEPS/$1.failures"; }; }
skip_note() { log "step '$1': done already ($STEPS/$1.done)"; }
maybe_stop() {
    if [ "$STOP_AFTER" = "$1" ]; then
        log "stopping after step '$1' (--stop-after)"
        exit 0
    fi
}
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
# A step failed: exit CODE so the boot unit retries, unless it failed MAX_FAILURES times in
# a row with nothing new (KEY: what "progress" means for the step), then exit 13.
step_failed() {
    local step=$1 code=$2 key=$3 msg=$4 f n=0 old=
    f=$STEPS/$step.failures
    mkdir -p "$STEPS"
    if [ -f "$f" ]; then read -r n old <"$f" || true; fi
    [ "$old" = "$key" ] || n=0
    n=$((n + 1))
    echo "$n $key" >"$f"
    if [ "$n" -ge "$MAX_FAILURES" ]; then
        die 13 "$msg; step '$step' has now failed $n times in a row without progress, so the boot unit stops retrying: read the log above, fix the cause, then run it again ('bootstrap --resume', or this script)"
    fi
    die "$code" "$msg (failure $n of $MAX_FAILURES before the retries stop; the boot unit retries in 30 s, or run this again)"
}
download() {   # download URL FILE
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 3 --connect-timeout 20 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -t 3 -T 20 -O "$2" "$1"
    else
        python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$1" "$2"
    fi
}

[ "$DRY" = 1 ] && log "dry run: printing the commands, running none"

# ---- 0. which GPUs (bootstrap detect's report), which torch build ---------------------
GPU_UUIDS='' GPU_USABLE=${BOOTSTRAP_GPU_COUNT:-0} GPU_SKIPPED='' GPU_MIN_VRAM_GIB=0 GPU_ALL_BF16='' GPU_CUDA=''
if [ "$CPU" = 0 ] && [ -f "${BOOTSTRAP_HW_REPORT:-}" ]; then
    plan=$(python3 "$HERE/train_gpus.py" "$BOOTSTRAP_HW_REPORT") || die 2 "cannot read the hardware report $BOOTSTRAP_HW_REPORT (see above): run 'bootstrap detect'"
    eval "$plan"
elif [ "$CPU" = 0 ] && command -v nvidia-smi >/dev/null 2>&1; then
    # started by hand: ask nvidia-smi (all GPUs count as usable)
    GPU_USABLE=$({ nvidia-smi -L 2>/dev/null || true; } | grep -c '^GPU ' || true)
    GPU_MIN_VRAM_GIB=$({ nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null || true; } |
        sort -n | head -n1 | awk '{ printf "%d", $1 / 1024 }')
    GPU_CUDA=$({ nvidia-smi 2>/dev/null || true; } | sed -n 's/.*CUDA Version: *\([0-9]*\.[0-9]*\).*/\1/p' | head -n1)
fi
GPU_MIN_VRAM_GIB=${GPU_MIN_VRAM_GIB:-0}
if [ "$CPU" = 1 ]; then
    GPUS=0
    export CUDA_VISIBLE_DEVICES=
    log "--cpu: training on the CPU (a smoke test: slow, and no GPU is used)"
else
    GPUS=$GPU_USABLE
    if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
        log "CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES was given: using those GPUs"
        GPUS=$(awk -F, '{ print NF }' <<<"$CUDA_VISIBLE_DEVICES")
    elif [ -n "$GPU_UUIDS" ]; then
        export CUDA_VISIBLE_DEVICES=$GPU_UUIDS
        log "the usable GPUs: CUDA_VISIBLE_DEVICES=$GPU_UUIDS"
    fi
    [ -z "$GPU_SKIPPED" ] || log "not using GPU(s) $GPU_SKIPPED: 'bootstrap detect' judged them unusable and says why"
fi
if [ "$TORCH" = auto ]; then
    if [ "$CPU" = 1 ]; then TORCH=cpu
    elif awk -v v="${GPU_CUDA:-0}" 'BEGIN { exit !(v >= 12.9) }'; then TORCH=cu129
    elif awk -v v="${GPU_CUDA:-0}" 'BEGIN { exit !(v >= 12.8) }'; then TORCH=cu128
    else TORCH=cu126; fi
fi

log "workspace $WS, model $MODEL_DIR, data $DATA, $GPUS GPU(s), mode $MODE, torch $TORCH"
if [ "$GPUS" -lt 1 ] && [ "$CPU" = 0 ] && [ "$DRY" = 0 ]; then
    die 3 "no usable GPU (BOOTSTRAP_GPU_COUNT=${BOOTSTRAP_GPU_COUNT:-unset}): the fine-tune needs an NVIDIA GPU ('bootstrap detect' says what it found); --cpu runs a slow smoke test, --dry-run shows the commands"
fi
if [ -f "$DONE_FILE" ] && [ "$DRY" = 0 ]; then
    log "already finished ($DONE_FILE exists); the sample and the model are listed in $STEPS/result.txt"
    [ -f "$STEPS/result.txt" ] && cat "$STEPS/result.txt" >&2
    exit 0
fi
[ "$DRY" = 1 ] || mkdir -p "$STEPS" "$LOGDIR"

# ---- 1. system packages -------------------------------------------------------------
SYSTEM_PKGS=(portaudio19-dev libsox-dev ffmpeg build-essential)
if [ "$SKIP_SYSTEM" = 0 ] && ! done_step system; then
    missing=()
    for p in "${SYSTEM_PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ "$DRY" = 0 ] || missing=("${SYSTEM_PKGS[@]}")
    if [ ${#missing[@]} -gt 0 ]; then
        SUDO=()
        if [ "$(id -u)" -ne 0 ]; then
            SUDO=(sudo -n)
            [ "$DRY" = 1 ] || sudo -n true 2>/dev/null ||
                die 2 "the packages ${missing[*]} are missing and this user cannot sudo without a password: install them (sudo apt-get install ${missing[*]}) and run this again"
        fi
        # Brev's own start-up runs apt at the same time: wait for the lock, and go on
        # with the package lists at hand when 'update' fails.
        run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq ||
            log "apt-get update failed; trying with the package lists at hand"
        run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
            install -y -qq --no-install-recommends "${missing[@]}" ||
            step_failed system 9 "" "apt-get could not install ${missing[*]}"
    fi
    mark_step system
fi
maybe_stop system

# ---- 2. uv, pinned --------------------------------------------------------------------
if [ "$DRY" = 1 ] || ! { [ -x "$UV" ] && "$UV" --version 2>/dev/null | grep -q "^uv $UV_VERSION"; }; then
    [ -n "$UV_URL" ] || die 3 "no uv wheel pinned for this CPU ($(uname -m)): x86_64 and aarch64 are supported"
    whl=$WS/.tools/uv-$UV_VERSION.whl
    run mkdir -p "$WS/.tools/uv-$UV_VERSION"
    run download "$UV_URL" "$whl.part" || { rm -f "$whl.part"; step_failed uv 9 "" "cannot download uv $UV_VERSION from PyPI ($UV_URL)"; }
    if [ "$DRY" = 1 ]; then
        printf '+ sha256 of %q must be %s\n' "$whl.part" "$UV_SHA256"
    else
        got=$(sha256_of "$whl.part")
        if [ "$got" != "$UV_SHA256" ]; then
            rm -f "$whl.part"
            die 8 "the uv wheel from $UV_URL has sha256 $got, not the pinned $UV_SHA256: not installing it (a proxy or mirror changed it?)"
        fi
        mv -f "$whl.part" "$whl"
    fi
    run python3 -c 'import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); out = sys.argv[2]
with open(out + ".tmp", "wb") as f: f.write(z.read(sys.argv[3]))
os.chmod(out + ".tmp", 0o755); os.replace(out + ".tmp", out)' "$whl" "$UV" "uv-$UV_VERSION.data/scripts/uv"
    [ "$DRY" = 1 ] || { rm -f "$whl"; "$UV" --version >&2; }
fi
maybe_stop uv

# ---- 3. fish-speech at the pin, with our patches ---------------------------------------
patch_set=$(cat "$PATCHES"/*.patch | sha256sum | cut -c1-12)
if ! done_step "source-$patch_set"; then
    if [ -n "$FS_ARCHIVE" ]; then
        # a git archive of the pinned commit (tests, hosts without GitHub): checked, unpacked,
        # and made a git repository so that the patches apply the same way as to a clone
        if [ ! -d "$REPO/.git" ]; then
            if [ "$DRY" = 0 ]; then
                [ -f "$FS_ARCHIVE" ] || die 2 "FISH_SPEECH_ARCHIVE=$FS_ARCHIVE: no such file"
                got=$(sha256_of "$FS_ARCHIVE")
                [ "$got" = "$FS_ARCHIVE_SHA256" ] ||
                    die 8 "$FS_ARCHIVE has sha256 $got, not FISH_SPEECH_ARCHIVE_SHA256=$FS_ARCHIVE_SHA256"
            fi
            run rm -rf "$REPO.unpack"
            run mkdir -p "$REPO.unpack"
            run tar -xzf "$FS_ARCHIVE" -C "$REPO.unpack" --strip-components=1 --no-same-owner
            run git -C "$REPO.unpack" init -q
            run git -C "$REPO.unpack" add -A
            run git -C "$REPO.unpack" -c user.name=train_finnish -c user.email=train_finnish@localhost \
                commit -q -m "fish-speech $FS_COMMIT from $(basename "$FS_ARCHIVE")"
            run mv "$REPO.unpack" "$REPO"
        fi
        REF=HEAD
    else
        if [ ! -d "$REPO/.git" ]; then
            run git clone --quiet "$FS_URL" "$REPO" || step_failed source 9 "" "cannot clone $FS_URL"
        fi
        if [ "$DRY" = 1 ] || ! git -C "$REPO" cat-file -e "$FS_COMMIT^{commit}" 2>/dev/null; then
            run git -C "$REPO" fetch --quiet origin || step_failed source 9 "" "cannot fetch $FS_URL"
        fi
        REF=$FS_COMMIT
    fi
    # tracked files back to the pin (data, results and the environment are untracked and stay)
    run git -C "$REPO" -c advice.detachedHead=false checkout --quiet --force "$REF"
    run git -C "$REPO" checkout --quiet --force "$REF" -- .
    if [ "$DRY" = 0 ] && [ -z "$FS_ARCHIVE" ]; then
        head=$(git -C "$REPO" rev-parse HEAD)
        [ "$head" = "$FS_COMMIT" ] || die 8 "fish-speech is at $head, not $FS_COMMIT"
    fi
    for p in "$PATCHES"/*.patch; do
        run git -C "$REPO" apply --check "$p" ||
            die 8 "our patch $(basename "$p") does not apply to fish-speech at $FS_COMMIT: is FISH_SPEECH_COMMIT changed?"
        run git -C "$REPO" apply "$p"
    done
    rm -f "$STEPS"/source-*.done
    mark_step "source-$patch_set"
else
    skip_note "source-$patch_set"
fi
maybe_stop source

# The configs expect the base model at checkpoints/openaudio-s1-mini.
if [ "$DRY" = 1 ] || [ "$(cd "$MODEL_DIR" 2>/dev/null && pwd -P)" != "$(cd "$REPO/checkpoints/openaudio-s1-mini" 2>/dev/null && pwd -P)" ]; then
    run mkdir -p "$REPO/checkpoints"
    run ln -sfn "$MODEL_DIR" "$REPO/checkpoints/openaudio-s1-mini"
fi

# ---- 4. the Python environment -------------------------------------------------------
PY=$REPO/.venv/bin/python
venv_key=venv-$TORCH-$(sha256_of "$REQUIREMENTS" | cut -c1-12)
if ! done_step "$venv_key"; then
    SYNC=("$UV" sync --frozen --python "$PYVER")
    [ "$TORCH" = pypi ] || SYNC+=(--extra "$TORCH")
    in_repo "${SYNC[@]}" || step_failed venv 9 "" "'uv sync' failed (see above): a network problem is retried; a build failure needs the system packages (${SYSTEM_PKGS[*]})"
    if [ "$TORCH" = pypi ]; then
        # fish-speech's lock has PyPI's torch for no extra, but without its CUDA libraries
        # (import fails): install the locked version from PyPI with its dependencies
        in_repo "$UV" pip install --python "$PY" torch==2.8.0 torchaudio==2.8.0 ||
            step_failed venv 9 "" "cannot install torch 2.8.0 from PyPI"
    fi
    # after the sync, and never synced again (.venv/bin/python runs everything)
    in_repo "$UV" pip install --python "$PY" --require-hashes --no-deps -r "$REQUIREMENTS" ||
        step_failed venv 9 "" "cannot install $REQUIREMENTS"
    in_repo "$PY" -c 'import torch, lightning, num2words
import fish_speech.datasets.protos.text_data_pb2
print("environment ok: torch", torch.__version__, "CUDA available:", torch.cuda.is_available())' ||
        step_failed venv 1 "" "fish-speech's environment does not import (see above)"
    rm -f "$STEPS"/venv-*.done
    mark_step "$venv_key"
else
    skip_note "$venv_key"
fi
maybe_stop venv

# ---- 5. the Finnish data -------------------------------------------------------------
if ! done_step data; then
    if [ "$DATA_FORMAT" = fleurs ]; then
        SRC=(--format fleurs --tsv "$DATA/$FLEURS_TSV" --audio "$DATA/$FLEURS_AUDIO")
    else
        SRC=(--format ljspeech --tsv "$DATA/${TRAIN_METADATA:-metadata.csv}" --audio "$DATA/${TRAIN_AUDIO:-wavs}" --speaker "${TRAIN_SPEAKER:-speaker}")
    fi
    set +e
    run "$PY" "$HERE/prepare_data.py" "${SRC[@]}" --out "$REPO/data/fi" --min-clips "$MIN_CLIPS"
    rc=$?
    set -e
    [ $rc -eq 0 ] || die 2 "the Finnish data could not be prepared (prepare_data.py exit $rc, see above)"
    mark_step data
else
    skip_note data
fi
maybe_stop data

# ---- 6. semantic tokens, packing -----------------------------------------------------
if ! done_step vq; then
    # skips clips that already have their .npy: restartable by itself
    in_repo "$PY" tools/vqgan/extract_vq.py data/fi --num-workers "$(( GPUS > 0 ? GPUS : 1 ))" \
        --batch-size 16 --config-name modded_dac_vq \
        --checkpoint-path checkpoints/openaudio-s1-mini/codec.pth ||
        step_failed vq 1 "" "extracting the semantic tokens failed (see above)"
    if [ "$DRY" = 0 ]; then
        left=$(cd "$REPO/data/fi" && find . -name '*.wav' | while read -r w; do [ -f "${w%.*}.npy" ] || echo "$w"; done | wc -l)
        [ "$left" -eq 0 ] || step_failed vq 1 "$left" "$left clips have no semantic tokens after extract_vq"
    fi
    mark_step vq
else
    skip_note vq
fi
if ! done_step protos; then
    run rm -rf "$REPO/data/protos"
    in_repo "$PY" tools/llama/build_dataset.py --input data/fi --output data/protos \
        --text-extension .lab --num-workers 16 || step_failed protos 1 "" "packing the dataset failed (see above)"
    mark_step protos
else
    skip_note protos
fi
maybe_stop protos

# ---- 7. LoRA or full fine-tuning -----------------------------------------------------
if [ "$MODE" = auto ]; then
    if [ "$CPU" = 0 ] && [ "$GPU_MIN_VRAM_GIB" -ge "$FULL_MIN_GIB" ]; then MODE=full; else MODE=lora; fi
    log "mode auto: $MODE ($GPU_MIN_VRAM_GIB GiB on the smallest usable GPU)"
elif [ "$MODE" = lora ] && [ "$GPU_MIN_VRAM_GIB" -ge "$FULL_MIN_GIB" ]; then
    log "this GPU has $GPU_MIN_VRAM_GIB GiB: full fine-tuning is possible and may suit S1-mini better" \
        "(it is RL-tuned; LoRA may barely move it): TRAIN_MODE=full or --mode full"
elif [ "$MODE" = full ] && [ "$CPU" = 0 ] && [ "$GPU_MIN_VRAM_GIB" -lt "$FULL_MIN_GIB" ] && [ "$DRY" = 0 ]; then
    die 3 "full fine-tuning needs at least $FULL_MIN_GIB GiB of GPU memory, the smallest usable GPU has $GPU_MIN_VRAM_GIB GiB: use --mode lora"
fi
# Each mode has its own project folder: a LoRA run never resumes a full run's checkpoint
# (or the other way round).
RUN=$PROJECT-$MODE
CKPT_DIR=$REPO/results/$RUN/checkpoints
TRAIN_LOG=$LOGDIR/train-$RUN.log
GUARD=$STEPS/guard-$RUN.json
OUT_DIR=$REPO/checkpoints/openaudio-s1-mini-fi-$MODE
SAMPLE_DIR=$WS/samples/$RUN

# The finetune config trains in bf16; GPUs below compute capability 8.0 (T4, V100) have no
# bf16, so they train in fp16 mixed precision instead; the CPU in fp32.
PRECISION=bf16-true
if [ "$CPU" = 1 ]; then
    PRECISION=32-true
elif [ "$GPU_ALL_BF16" = 0 ]; then
    PRECISION=16-mixed
    log "a usable GPU has no bf16 (compute capability below 8.0): training in fp16 mixed precision"
fi

TRAIN=("$PY" fish_speech/train.py --config-name text2semantic_finetune
       "project=$RUN" pretrained_ckpt_path=checkpoints/openaudio-s1-mini
       "trainer.max_steps=$MAX_STEPS" "data.batch_size=$BATCH" "trainer.precision=$PRECISION"
       "trainer.val_check_interval=$SAVE_EVERY"
       "+callbacks.loss_guard._target_=train_guard.LossGuard"
       "+callbacks.loss_guard.status_file=$GUARD" "+callbacks.loss_guard.limit=$LOSS_LIMIT")
[ "$MODE" = lora ] && TRAIN+=("+lora@model.model.lora_config=$LORA_CONFIG")
[ "$NUM_NODES" = 1 ] || TRAIN+=("trainer.num_nodes=$NUM_NODES")
if [ "$CPU" = 1 ]; then
    TRAIN+=(trainer.accelerator=cpu trainer.devices=1 trainer.strategy=auto data.num_workers=1)
elif [ "$GPUS" -le 1 ] && [ "$NUM_NODES" = 1 ]; then
    TRAIN+=(trainer.strategy=auto)   # one GPU: no DDP process group to set up
fi
TRAIN+=("${OVERRIDES[@]}")

latest_ckpt() { { find "$CKPT_DIR" -maxdepth 1 -name 'step_*.ckpt' 2>/dev/null || true; } | sort | tail -n1; }
guard_field() { python3 -c 'import json, sys
try: print(json.load(open(sys.argv[1])).get(sys.argv[2]) or "")
except (OSError, ValueError): print("")' "$GUARD" "$1"; }

train_pid='' tail_pid=''
stop_training() {
    trap - TERM INT
    [ -n "$train_pid" ] && kill -TERM -- "-$train_pid" 2>/dev/null
    [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
    wait 2>/dev/null
    log "stopped; the next run resumes from the last checkpoint ($(latest_ckpt))"
    exit 143
}

if ! done_step "train-$RUN"; then
    if [ "$DRY" = 1 ]; then
        printf '+ (cd %q && PYTHONPATH=%q' "$REPO" "$HERE"; printf ' %q' "${TRAIN[@]}"; printf ') >> %q 2>&1\n' "$TRAIN_LOG"
        log "the loss guard stops a fresh run whose first 5 losses average above the limit (--loss-limit $LOSS_LIMIT), and any run whose loss is not finite"
    else
        before=$(latest_ckpt)
        log "training ($MODE, $MAX_STEPS steps, a checkpoint every $SAVE_EVERY); output in $TRAIN_LOG${before:+; resuming from $before}"
        printf '\n=== %s start (%s) ===\n' "$(date -u +%FT%TZ)" "$RUN" >>"$TRAIN_LOG"
        rm -f "$GUARD"
        trap stop_training TERM INT
        (cd "$REPO" && PYTHONPATH=$HERE exec setsid "${TRAIN[@]}") >>"$TRAIN_LOG" 2>&1 &
        train_pid=$!
        tail -n0 -F "$TRAIN_LOG" --pid="$train_pid" 2>/dev/null >&2 &
        tail_pid=$!
        set +e
        wait "$train_pid"
        rc=$?
        kill "$tail_pid" 2>/dev/null
        wait "$tail_pid" 2>/dev/null
        set -e
        trap - TERM INT
        verdict=$(guard_field verdict)
        case $verdict in
        random_weights)
            # its checkpoints (if --save-every came before the verdict) must not be resumed
            aside=
            if [ -d "$CKPT_DIR" ]; then
                aside=$CKPT_DIR.random-weights-$(date -u +%Y%m%dT%H%M%SZ)
                mv "$CKPT_DIR" "$aside"
            fi
            die 13 "the first losses average $(guard_field first_mean) (limit $(guard_field limit); uniform guessing gives $(guard_field uniform_loss); loaded S1-mini starts near 8): the base weights were not loaded, as in fishaudio/fish-speech#1163. Check $MODEL_DIR/model.pth and that our patches are applied (rm $STEPS/source-*.done and run again); --loss-limit off skips this check.${aside:+ Its checkpoints were moved to $aside.} Not retrying: $TRAIN_LOG" ;;
        nonfinite|stopped_by_other_rank)
            die 13 "the training loss became $(guard_field loss) at step $(guard_field step): resuming would repeat it. Lower the learning rate (--override model.optimizer.lr=5e-5) or use --mode lora, remove the checkpoints after the last good step from $CKPT_DIR, and run again. Not retrying: $TRAIN_LOG" ;;
        esac
        if [ $rc -ne 0 ]; then
            step_failed "train-$RUN" 1 "$(latest_ckpt)" "training exited with status $rc (see $TRAIN_LOG); the next run resumes from the last checkpoint ($(latest_ckpt))"
        fi
        [ -n "$(latest_ckpt)" ] || die 1 "training finished but left no checkpoint in $CKPT_DIR (is --save-every above --max-steps?)"
        log "training finished: $(latest_ckpt), last loss $(guard_field loss)"
    fi
    mark_step "train-$RUN"
else
    skip_note "train-$RUN"
fi
maybe_stop train

# ---- 8. merge (LoRA) or export (full) ------------------------------------------------
if ! done_step "output-$RUN"; then
    CKPT=$(latest_ckpt)
    [ -n "$CKPT" ] || CKPT=$CKPT_DIR/step_NNNNNNNNN.ckpt
    [ "$DRY" = 1 ] || [ -f "$CKPT" ] || die 1 "no checkpoint in $CKPT_DIR"
    if [ "$MODE" = lora ]; then
        in_repo "$PY" tools/llama/merge_lora.py --lora-config "$LORA_CONFIG" \
            --base-weight checkpoints/openaudio-s1-mini --lora-weight "$CKPT" --output "$OUT_DIR/" ||
            step_failed "output-$RUN" 1 "" "merging the LoRA weights failed (see above)"
    else
        # A full fine-tune's checkpoint holds the Lightning module; keep the model's weights.
        in_repo "$PY" -c 'import os, shutil, sys, torch
ck = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
sd = {k[6:]: v for k, v in ck.get("state_dict", ck).items() if k.startswith("model.")}
os.makedirs(sys.argv[3], exist_ok=True)
torch.save(sd, os.path.join(sys.argv[3], "model.pth"))
for f in ("config.json", "tokenizer.tiktoken", "special_tokens.json"):
    shutil.copy(os.path.join(sys.argv[2], f), sys.argv[3])
print("exported", len(sd), "tensors to", sys.argv[3])' "$CKPT" checkpoints/openaudio-s1-mini "$OUT_DIR" ||
            step_failed "output-$RUN" 1 "" "exporting the weights failed (see above)"
    fi
    mark_step "output-$RUN"
else
    skip_note "output-$RUN"
fi
maybe_stop output

# ---- 9. a sample: text -> semantic codes -> .wav ---------------------------------------
DEVICE=cuda
[ "$CPU" = 0 ] || DEVICE=cpu
INFER=("$PY" fish_speech/models/text2semantic/inference.py --text "$SAMPLE_TEXT"
       --checkpoint-path "$OUT_DIR" --device "$DEVICE" --output-dir "$SAMPLE_DIR")
[ "$CPU" = 0 ] || INFER+=(--max-new-tokens "${TRAIN_SAMPLE_MAX_TOKENS:-64}")
DECODE=("$PY" fish_speech/models/dac/inference.py -i "$SAMPLE_DIR/codes_0.npy" -o "$SAMPLE_DIR/sample.wav"
        --config-name modded_dac_vq --checkpoint-path checkpoints/openaudio-s1-mini/codec.pth --device "$DEVICE")
if ! done_step "sample-$RUN"; then
    run rm -rf "$SAMPLE_DIR"
    in_repo "${INFER[@]}" || step_failed "sample-$RUN" 1 "" "synthesising the sample's codes failed (see above)"
    [ "$DRY" = 1 ] || [ -f "$SAMPLE_DIR/codes_0.npy" ] ||
        step_failed "sample-$RUN" 1 "" "inference wrote no codes (the model ended the sentence at once)"
    in_repo "${DECODE[@]}" || step_failed "sample-$RUN" 1 "" "decoding the sample with the codec failed (see above)"
    mark_step "sample-$RUN"
fi

if [ "$DRY" = 0 ]; then
    {
        printf 'the fine-tuned model: %s (with the base codec %s)\n' "$OUT_DIR" "$MODEL_DIR/codec.pth"
        printf 'a sample: %s ("%s")\n' "$SAMPLE_DIR/sample.wav" "$SAMPLE_TEXT"
        printf 'another sentence:\n  cd %q &&' "$REPO"; printf ' %q' "${INFER[@]:0:2}" --text 'Kirjoita tähän.' "${INFER[@]:4}"
        printf ' &&'; printf ' %q' "${DECODE[@]}"; printf '\n'
    } >"$STEPS/result.txt"
    mkdir -p "$(dirname "$DONE_FILE")"
    date -u +%FT%TZ >"$DONE_FILE"
    log "done"
    cat "$STEPS/result.txt" >&2
else
    log "would end with: a sample in $SAMPLE_DIR/sample.wav"
fi
