#!/bin/bash
# 102-detect-t4-old-driver: a T4 on an R470 driver. nvidia-smi refuses compute_cap (exit 2,
# 'Field "compute_cap" is not a valid field'): detect drops it and asks again, takes the
# compute capability from the model name (7.5: no bf16) and the CUDA version from the
# banner (no --version on R470). R470 is older than R525.60.13, the oldest driver that
# runs PyTorch's CUDA 12 wheels (driver_old, first), and 15 GiB is below the 20 GiB
# floor: fail, exit 3. With --min-driver '' only the memory fails; with --min-driver
# 450 the driver is fine.
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
    "R.get('driver_old')" fail \
    "d['requirements']['min_driver']" 525.60.13 \
    "d['gpus'][0]['usable']" False \
    "d['gpus'][0]['name']" "Tesla T4" \
    "d['gpus'][0]['compute_capability']" "7.5" \
    "d['gpus'][0]['compute_capability_source']" "model name" \
    "d['gpus'][0]['bf16']" False \
    "d['gpus'][0]['memory_total_mib']" 15109 \
    "d['nvidia_smi']['rejected_fields']" "['compute_cap']" \
    "d['nvidia_smi']['runs']" 4 \
    "d['driver']['cuda_version']" "11.4" \
    "d['driver']['kernel_module']" proprietary
assert_contains "$T/err" "error: this machine cannot run the fine-tune: NVIDIA driver 470.256.02 is older than 525.60.13"

detect t4-driver470 --json --min-driver ''
assert_rc 3
assert_j "R.get('driver_old')" None "R.get('vram_low')" fail
assert_contains "$T/err" "error: this machine cannot run the fine-tune: GPU 0 (Tesla T4"
detect t4-driver470 --json --min-driver 450 --min-vram-mib 15000
assert_rc 0
assert_j "R.get('driver_old')" None "d['gpus'][0]['usable']" True

detect t4-driver470
assert_rc 3
assert_contains "$T/out" "driver rejected: compute_cap"
assert_contains "$T/out" "Verdict: fail"

# With a smaller memory floor (and the driver check off) the T4 is usable, and the fp16
# fallback is a warning...
detect t4-driver470 --min-vram-mib 8192 --min-driver '' --json
assert_rc 0
assert_j \
    "d['verdict']['status']" warn \
    "R.get('no_bf16')" warn \
    "d['requirements']['min_vram_mib']" 8192
# ... unless bf16 is required.
detect t4-driver470 --min-vram-mib 8192 --min-driver '' --require-bf16 --json
assert_rc 3
assert_reason no_bf16 fail
