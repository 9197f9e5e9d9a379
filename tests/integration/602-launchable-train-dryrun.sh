#!/bin/bash
# 602-launchable-train-dryrun: train_finnish.sh --dry-run prints every command of the
# fine-tune and runs none (no GPU, network, git or uv needed): fish-speech pinned to
# d3df505 with the lora.py fix of cccb997, the CUDA extra, the data preparation, token
# extraction, packing, LoRA training and merge with explicit flags; --mode full trains
# without LoRA and exports instead of merging; bad options exit 2.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
TRAIN=$REPO_ROOT/launchable/train_finnish.sh
W=$T/ws

dry() {   # dry [args...]: as bootstrap would start it, in an empty workspace
    env -i PATH="$T/nobin:/usr/bin:/bin" HOME="$T/home" BOOTSTRAP_WORKSPACE="$W" \
        BOOTSTRAP_MODEL_DIR="$W/checkpoints/openaudio-s1-mini" BOOTSTRAP_DATA_DIR="$W/data" \
        BOOTSTRAP_GPU_COUNT=2 BOOTSTRAP_DONE_FILE="$T/done" FISH_SPEECH_COMMIT=d3df505 \
        FISH_SPEECH_LORA_FIX=cccb997 bash "$TRAIN" --dry-run "$@" >"$T/out" 2>"$T/err"
}

dry
for line in \
    "+ git clone --quiet https://github.com/fishaudio/fish-speech.git $W/fish-speech" \
    "+ git -C $W/fish-speech -c advice.detachedHead=false checkout --quiet --force d3df505" \
    "+ git -C $W/fish-speech show cccb997 -- fish_speech/models/text2semantic/lora.py > $W/.train-steps/lora-fix-cccb997.patch" \
    "+ git -C $W/fish-speech apply $W/.train-steps/lora-fix-cccb997.patch" \
    "+ (cd $W/fish-speech && uv sync --python 3.12 --extra cu126)" \
    "+ ln -sfn $W/checkpoints/openaudio-s1-mini $W/fish-speech/checkpoints/openaudio-s1-mini" \
    "prepare_data.py --tsv $W/data/fleurs_fi/train.tsv --audio $W/data/fleurs_fi/audio --out $W/fish-speech/data/fi --speakers gender --min-clips 100" \
    "+ (cd $W/fish-speech && uv run python tools/vqgan/extract_vq.py data/fi --num-workers 2 --batch-size 16 --config-name modded_dac_vq --checkpoint-path checkpoints/openaudio-s1-mini/codec.pth)" \
    "+ (cd $W/fish-speech && uv run python tools/llama/build_dataset.py --input data/fi --output data/protos --text-extension .lab --num-workers 16)" \
    "+ (cd $W/fish-speech && uv run python fish_speech/train.py --config-name text2semantic_finetune project=finnish pretrained_ckpt_path=checkpoints/openaudio-s1-mini trainer.max_steps=2000 data.batch_size=4 trainer.precision=bf16-true +lora@model.model.lora_config=r_8_alpha_16) >> $W/logs/train-finnish.log 2>&1" \
    "+ (cd $W/fish-speech && uv run python tools/llama/merge_lora.py --lora-config r_8_alpha_16 --base-weight checkpoints/openaudio-s1-mini --lora-weight" \
    "--output $W/fish-speech/checkpoints/openaudio-s1-mini-fi-lora/)" \
    "apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends"; do
    assert_contains "$T/out" "$line"
done
assert_contains "$T/err" "dry run: printing the commands, running none"
assert_contains "$T/err" "would stop the training if the first logged loss is above 15"
# the order of the steps
order=$(grep -n -E 'checkout --quiet|apply /|uv sync|prepare_data|extract_vq|build_dataset|train.py|merge_lora' "$T/out" | cut -d: -f1 | tr '\n' ' ')
sorted=$(echo "$order" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
assert_eq "$order" "$sorted" "steps out of order"
[ ! -e "$W" ] || [ -z "$(ls -A "$W")" ] || fail "the dry run wrote into the workspace: $(ls -A "$W")"
[ ! -e "$T/done" ] || fail "the dry run created the done file"

# full fine-tuning: no LoRA override, an export instead of the merge
dry --mode full --max-steps 50 --project fi2
assert_contains "$T/out" "project=fi2 pretrained_ckpt_path=checkpoints/openaudio-s1-mini trainer.max_steps=50 data.batch_size=4 trainer.precision=bf16-true)"
assert_not_contains "$T/out" "+lora@"
assert_not_contains "$T/out" "merge_lora.py"
assert_contains "$T/out" "openaudio-s1-mini-fi-full"

# a GPU without bf16 (T4, compute capability 7.5) trains in fp16 mixed precision
mkdir -p "$T/hw"
printf '{"gpus":[{"index":0,"name":"Tesla T4","compute_capability":"7.5","bf16":false}]}' >"$T/hw/report.json"
dry_hw() {
    env -i PATH="$T/nobin:/usr/bin:/bin" HOME="$T/home" BOOTSTRAP_WORKSPACE="$W" \
        BOOTSTRAP_MODEL_DIR="$W/checkpoints/openaudio-s1-mini" BOOTSTRAP_DATA_DIR="$W/data" \
        BOOTSTRAP_GPU_COUNT=1 BOOTSTRAP_DONE_FILE="$T/done" BOOTSTRAP_HW_REPORT="$1" \
        bash "$TRAIN" --dry-run >"$T/out" 2>"$T/err"
}
dry_hw "$T/hw/report.json"
assert_contains "$T/out" "data.batch_size=4 trainer.precision=16-mixed"
assert_contains "$T/err" "training in fp16 mixed precision"
printf '{"gpus":[{"index":0,"name":"NVIDIA H200","compute_capability":"9.0","bf16":true}]}' >"$T/hw/report.json"
dry_hw "$T/hw/report.json"
assert_contains "$T/out" "trainer.precision=bf16-true"

# usage
if dry --mode sideways; then fail "--mode sideways accepted"; fi
assert_contains "$T/err" "--mode must be lora, full or auto"
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
