#!/bin/bash
# 602-launchable-train-dryrun: train_finnish.sh --dry-run prints every command of the
# fine-tune and runs none (no GPU, network, git or uv needed): the pinned uv wheel checked
# by sha256, fish-speech pinned to d3df505 (clone or archive) with our patches, the locked
# environment with the CUDA extra (or PyPI's torch) and the pinned protobuf, the data
# preparation, token extraction, packing, LoRA training with the loss guard, the merge and
# the sample, in that order and never through 'uv run'; --mode full trains without LoRA and
# exports instead of merging; the hardware report picks the GPUs and the precision; bad
# options exit 2.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
TRAIN=$REPO_ROOT/launchable/train_finnish.sh
W=$T/ws

dry() {   # dry [args...]: as bootstrap would start it, in an empty workspace
    env -i PATH="$T/nobin:/usr/bin:/bin" HOME="$T/home" BOOTSTRAP_WORKSPACE="$W" \
        BOOTSTRAP_MODEL_DIR="$W/checkpoints/openaudio-s1-mini" BOOTSTRAP_DATA_DIR="$W/data" \
        BOOTSTRAP_GPU_COUNT=2 BOOTSTRAP_DONE_FILE="$T/done" "${DRY_ENV[@]}" \
        bash "$TRAIN" --dry-run "$@" >"$T/out" 2>"$T/err"
}
DRY_ENV=()
FS=$W/fish-speech
PY=$FS/.venv/bin/python
UV=$W/.tools/uv-0.8.15/uv
P=$REPO_ROOT/launchable/fish-speech-patches

dry
for line in \
    "install -y -qq --no-install-recommends portaudio19-dev libsox-dev ffmpeg build-essential" \
    "+ download https://files.pythonhosted.org/packages/" \
    "+ sha256 of $W/.tools/uv-0.8.15.whl.part must be " \
    "+ git clone --quiet https://github.com/fishaudio/fish-speech.git $FS" \
    "+ git -C $FS -c advice.detachedHead=false checkout --quiet --force d3df50503b36314a964f66cac1af1e19e95bcfa3" \
    "+ git -C $FS apply --check $P/0001-lora-keep-base-weights.patch" \
    "+ git -C $FS apply $P/0002-lora-resume.patch" \
    "+ git -C $FS apply $P/0003-extract-vq-cpu-and-worker-status.patch" \
    "+ (cd $FS && $UV sync --frozen --python 3.12 --extra cu126)" \
    "+ (cd $FS && $UV pip install --python $PY --require-hashes --no-deps -r $REPO_ROOT/launchable/fish-speech-requirements.txt)" \
    "import fish_speech.datasets.protos.text_data_pb2" \
    "+ ln -sfn $W/checkpoints/openaudio-s1-mini $FS/checkpoints/openaudio-s1-mini" \
    "+ $PY $REPO_ROOT/launchable/prepare_data.py --format fleurs --tsv $W/data/fleurs_fi/train.tsv --audio $W/data/fleurs_fi/audio --out $FS/data/fi --min-clips 100" \
    "+ (cd $FS && $PY tools/vqgan/extract_vq.py data/fi --num-workers 2 --batch-size 16 --config-name modded_dac_vq --checkpoint-path checkpoints/openaudio-s1-mini/codec.pth)" \
    "+ (cd $FS && $PY tools/llama/build_dataset.py --input data/fi --output data/protos --text-extension .lab --num-workers 16)" \
    "+ (cd $FS && PYTHONPATH=$REPO_ROOT/launchable $PY fish_speech/train.py --config-name text2semantic_finetune project=finnish-lora pretrained_ckpt_path=checkpoints/openaudio-s1-mini trainer.max_steps=2000 data.batch_size=4 trainer.precision=bf16-true trainer.val_check_interval=100 +callbacks.loss_guard._target_=train_guard.LossGuard +callbacks.loss_guard.status_file=$W/.train-steps/guard-finnish-lora.json +callbacks.loss_guard.limit=auto +lora@model.model.lora_config=r_8_alpha_16) >> $W/logs/train-finnish-lora.log 2>&1" \
    "+ (cd $FS && $PY tools/llama/merge_lora.py --lora-config r_8_alpha_16 --base-weight checkpoints/openaudio-s1-mini --lora-weight $FS/results/finnish-lora/checkpoints/step_NNNNNNNNN.ckpt --output $FS/checkpoints/openaudio-s1-mini-fi-lora/)" \
    "fish_speech/models/text2semantic/inference.py --text" \
    "--checkpoint-path $FS/checkpoints/openaudio-s1-mini-fi-lora --device cuda --output-dir $W/samples/finnish-lora)" \
    "+ (cd $FS && $PY fish_speech/models/dac/inference.py -i $W/samples/finnish-lora/codes_0.npy -o $W/samples/finnish-lora/sample.wav --config-name modded_dac_vq --checkpoint-path checkpoints/openaudio-s1-mini/codec.pth --device cuda)"; do
    assert_contains "$T/out" "$line"
done
assert_contains "$T/err" "dry run: printing the commands, running none"
assert_contains "$T/err" "the loss guard stops a fresh run whose first 5 losses average above the limit (--loss-limit auto)"
assert_not_contains "$T/out" "uv run"   # 'uv run' would re-sync the environment
# the order of the steps
order=$(grep -n -E 'checkout --quiet --force d3df|apply /|uv sync|prepare_data|extract_vq|build_dataset|train.py|merge_lora|inference.py' "$T/out" | cut -d: -f1 | tr '\n' ' ')
sorted=$(echo "$order" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
assert_eq "$order" "$sorted" "steps out of order"
[ ! -e "$W" ] || [ -z "$(ls -A "$W")" ] || fail "the dry run wrote into the workspace: $(ls -A "$W")"
[ ! -e "$T/done" ] || fail "the dry run created the done file"

# a fish-speech archive instead of a clone; PyPI's torch; options reach train.py
DRY_ENV=(FISH_SPEECH_ARCHIVE=/x/fs.tar.gz TRAIN_TORCH=pypi)
dry --save-every 50 --loss-limit 12.5 --override model.optimizer.lr=5e-5 --num-nodes 2
assert_contains "$T/out" "+ tar -xzf /x/fs.tar.gz -C $FS.unpack --strip-components=1 --no-same-owner"
assert_not_contains "$T/out" "git clone"
assert_contains "$T/out" "+ (cd $FS && $UV sync --frozen --python 3.12)"
assert_contains "$T/out" "+ (cd $FS && $UV pip install --python $PY torch==2.8.0 torchaudio==2.8.0)"
assert_contains "$T/out" "trainer.val_check_interval=50 "
assert_contains "$T/out" "+callbacks.loss_guard.limit=12.5 "
assert_contains "$T/out" "trainer.num_nodes=2 model.optimizer.lr=5e-5)"
DRY_ENV=()

# full fine-tuning: no LoRA override, an export instead of the merge
dry --mode full --max-steps 50 --project fi2
assert_contains "$T/out" "project=fi2-full pretrained_ckpt_path=checkpoints/openaudio-s1-mini trainer.max_steps=50 data.batch_size=4 trainer.precision=bf16-true trainer.val_check_interval=100 "
assert_contains "$T/out" "results/fi2-full/checkpoints/step_NNNNNNNNN.ckpt"   # its own folder: never LoRA's
assert_not_contains "$T/out" "+lora@"
assert_not_contains "$T/out" "merge_lora.py"
assert_contains "$T/out" "openaudio-s1-mini-fi-full"

# the hardware report: only the usable GPUs (by UUID), their precision, their CUDA version
mkdir -p "$T/hw"
dry_hw() {
    env -i PATH="$T/nobin:/usr/bin:/bin" HOME="$T/home" BOOTSTRAP_WORKSPACE="$W" \
        BOOTSTRAP_MODEL_DIR="$W/checkpoints/openaudio-s1-mini" BOOTSTRAP_DATA_DIR="$W/data" \
        BOOTSTRAP_GPU_COUNT=1 BOOTSTRAP_DONE_FILE="$T/done" BOOTSTRAP_HW_REPORT="$1" \
        bash "$TRAIN" --dry-run "${@:2}" >"$T/out" 2>"$T/err"
}
# a T4 (compute capability 7.5: no bf16) is trained in fp16 mixed precision
printf '{"gpus":[{"index":0,"name":"Tesla T4","uuid":"GPU-t4","usable":true,"usable_memory_mib":15360,"bf16":false}],"driver":{"cuda_version":"12.2"}}' >"$T/hw/report.json"
dry_hw "$T/hw/report.json"
assert_contains "$T/out" "trainer.precision=16-mixed"
assert_contains "$T/err" "training in fp16 mixed precision"
assert_contains "$T/out" "sync --frozen --python 3.12 --extra cu126)"
# two usable H100s and an unusable T4: CUDA_VISIBLE_DEVICES names the two, DDP, cu128;
# auto mode picks full fine-tuning (80 GiB each)
printf '%s' '{"gpus":[{"index":0,"name":"NVIDIA H100","uuid":"GPU-aaa","usable":true,"usable_memory_mib":81559,"bf16":true},
 {"index":1,"name":"Tesla T4","uuid":"GPU-t4","usable":false,"bf16":false},
 {"index":2,"name":"NVIDIA H100","uuid":"GPU-bbb","usable":true,"usable_memory_mib":81559,"bf16":true}],
 "driver":{"cuda_version":"12.8"}}' >"$T/hw/report.json"
dry_hw "$T/hw/report.json" --mode auto
assert_contains "$T/err" "the usable GPUs: CUDA_VISIBLE_DEVICES=GPU-aaa,GPU-bbb"
assert_contains "$T/err" "not using GPU(s) 1 (Tesla T4)"
assert_contains "$T/err" "mode auto: full (79 GiB on the smallest usable GPU)"
assert_contains "$T/out" "trainer.precision=bf16-true"
assert_contains "$T/out" "--extra cu128)"
assert_contains "$T/out" "extract_vq.py data/fi --num-workers 2 "
assert_not_contains "$T/out" "trainer.strategy=auto"   # DDP over the two
# an unreadable report: exit 2, saying what to do
printf 'not json' >"$T/hw/report.json"
set +e; dry_hw "$T/hw/report.json"; rc=$?; set -e
assert_eq "$rc" 2 "exit status for a broken hardware report"
assert_contains "$T/err" "run 'bootstrap detect'"

# usage
if dry --mode sideways; then fail "--mode sideways accepted"; fi
assert_contains "$T/err" "--mode must be lora, full or auto"
for bad in "--max-steps 0" "--loss-limit high" "--override nokey" "--stop-after lunch" "--save-every"; do
    # shellcheck disable=SC2086
    if dry $bad; then fail "$bad accepted"; fi
done
DRY_ENV=(TRAIN_TORCH=cu999)
if dry; then fail "TRAIN_TORCH=cu999 accepted"; fi
assert_contains "$T/err" "TRAIN_TORCH must be"
DRY_ENV=()
set +e
env -i PATH=/usr/bin:/bin bash "$TRAIN" --bogus >/dev/null 2>&1
rc=$?
set -e
assert_eq "$rc" 2 "exit status for an unknown option"
env -i PATH=/usr/bin:/bin bash "$TRAIN" --help >"$T/out"
assert_contains "$T/out" "--dry-run"
# without a GPU and without --dry-run it refuses (exit 3) before touching anything
set +e
env -i PATH=/usr/bin:/bin HOME="$T/home" BOOTSTRAP_WORKSPACE="$T/ws2" BOOTSTRAP_GPU_COUNT=0 \
    bash "$TRAIN" >"$T/out" 2>"$T/err"
rc=$?
set -e
assert_eq "$rc" 3 "exit status without a GPU"
assert_contains "$T/err" "no usable GPU"
assert_contains "$T/err" "--cpu runs a slow smoke test"
