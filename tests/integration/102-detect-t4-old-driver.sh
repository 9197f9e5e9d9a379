#!/bin/bash
# 102-detect-t4-old-driver: a T4 on an R470 driver. nvidia-smi refuses compute_cap (exit 2,
# 'Field "compute_cap" is not a valid field'): detect drops it and asks again, takes the
# compute capability from the model name (7.5: no bf16) and the CUDA version from the
# banner (no --version on R470). 15 GiB is below the 20 GiB floor: fail, exit 3.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/gpu/detect-lib.sh
. "$REPO_ROOT/tests/fixtures/gpu/detect-lib.sh"
need_bootstrap

detect t4-driver470 --json
assert_rc 3
assert_j \
    "d['verdict']['status']" fail \
    "R.get('vram_low')" fail \
    "d['gpus'][0]['name']" "Tesla T4" \
    "d['gpus'][0]['compute_capability']" "7.5" \
    "d['gpus'][0]['compute_capability_source']" "model name" \
    "d['gpus'][0]['bf16']" False \
    "d['gpus'][0]['memory_total_mib']" 15109 \
    "d['nvidia_smi']['rejected_fields']" "['compute_cap']" \
    "d['nvidia_smi']['runs']" 4 \
    "d['driver']['cuda_version']" "11.4" \
    "d['driver']['kernel_module']" proprietary
assert_contains "$T/err" "error: this machine cannot run the fine-tune: GPU 0 (Tesla T4"

detect t4-driver470
assert_rc 3
assert_contains "$T/out" "driver rejected: compute_cap"
assert_contains "$T/out" "Verdict: fail"

# With a smaller memory floor the T4 is usable, and the fp16 fallback is a warning...
detect t4-driver470 --min-vram-mib 8192 --json
assert_rc 0
assert_j \
    "d['verdict']['status']" warn \
    "R.get('no_bf16')" warn \
    "d['requirements']['min_vram_mib']" 8192
# ... unless bf16 is required.
detect t4-driver470 --min-vram-mib 8192 --require-bf16 --json
assert_rc 3
assert_reason no_bf16 fail
