#!/bin/bash
# 104-detect-no-driver: NVIDIA GPUs on the PCI bus without the NVIDIA driver: nothing bound
# (driver not installed, no nvidia-smi) and nouveau bound. Both fail with what to install;
# --allow-no-gpu turns them into warnings.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/gpu/detect-lib.sh
. "$REPO_ROOT/tests/fixtures/gpu/detect-lib.sh"
need_bootstrap

detect driver-missing --json
assert_rc 3
assert_j \
    "R.get('no_driver')" fail \
    "d['nvidia_smi']['status']" not_found \
    "d['driver']['loaded']" False \
    "d['gpus'][0]['pci']" "{'device_id': '0x27b8', 'driver': None}" \
    "d['gpus'][0]['sources']" "['pci']" \
    "'ubuntu-drivers install' in d['verdict']['reasons'][0]['next']" True

detect driver-missing
assert_rc 3
assert_contains "$T/out" "fail: NVIDIA GPU(s) 0000:00:03.0 found on the PCI bus, but no NVIDIA driver is loaded"
assert_contains "$T/out" "Driver: not loaded"

detect nouveau --json
assert_rc 3
assert_j \
    "R.get('nouveau')" fail \
    "len(d['gpus'])" 1 \
    "'blacklist nouveau' in d['verdict']['reasons'][0]['next']" True

detect nouveau --allow-no-gpu --json
assert_rc 0
assert_j \
    "d['verdict']['status']" warn \
    "R.get('nouveau')" warn \
    "R.get('no_gpu_allowed')" warn
