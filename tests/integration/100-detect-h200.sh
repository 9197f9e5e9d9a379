#!/bin/bash
# 100-detect-h200: `bootstrap detect` on the real H200 capture (driver 580.159.04, open
# module, CUDA 13.0, nvidia-smi double printing the captured output): human summary, JSON
# fields the issue names, exit 0; and a --root without --nvidia-smi never runs the host's.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/gpu/detect-lib.sh
. "$REPO_ROOT/tests/fixtures/gpu/detect-lib.sh"
need_bootstrap

detect h200-ubuntu24.04
assert_rc 0
assert_contains "$T/out" "GPUs: 1 found, 1 usable"
assert_contains "$T/out" "NVIDIA H200"
assert_contains "$T/out" "143156/143771"
assert_contains "$T/out" "Driver: 580.159.04 (open kernel module), CUDA 13.0"
assert_contains "$T/out" "Verdict: ok - this machine can run the fine-tune"
assert_not_contains "$T/err" "error"

# disk_path: BOOTSTRAP_STATE_DIR=$T/state (run_bs) does not exist yet, so its parent.
detect h200-ubuntu24.04 --json
assert_rc 0
assert_j \
    "len(d['gpus'])" 1 \
    "d['gpus'][0]['index']" 0 \
    "d['gpus'][0]['name']" "NVIDIA H200" \
    "d['gpus'][0]['uuid']" "GPU-e0122269-ffee-53a1-5301-e4e1601bfa79" \
    "d['gpus'][0]['pci_bus_id']" "0000:00:06.0" \
    "d['gpus'][0]['memory_total_mib']" 143771 \
    "d['gpus'][0]['memory_free_mib']" 143156 \
    "d['gpus'][0]['compute_capability']" "9.0" \
    "d['gpus'][0]['bf16']" True \
    "d['gpus'][0]['mig_enabled']" False \
    "d['gpus'][0]['sources']" "['nvidia-smi', 'proc', 'pci']" \
    "d['gpus'][0]['pci']" "{'device_id': '0x2335', 'driver': 'nvidia'}" \
    "d['driver']" "{'loaded': True, 'version': '580.159.04', 'kernel_module': 'open', 'cuda_version': '13.0'}" \
    "d['system']['cpus']" 16 \
    "d['system']['memory_total_mib'] > 200000" True \
    "d['system']['disk_free_mib'] is not None" True \
    "d['system']['disk_path']" "$T" \
    "d['verdict']" "{'status': 'ok', 'usable_gpus': 1, 'reasons': []}" \
    "d['nvidia_smi']['path']" "$GPU_FIX/h200-ubuntu24.04/nvidia-smi" \
    "d['nvidia_smi']['status']" "ok" \
    "d['nvidia_smi']['runs']" 2 \
    "d['pci']" "{'scanned': True, 'nvidia_gpus': 1}"
[ -z "$(cat "$T/err")" ] || fail "stderr not empty: $(cat "$T/err")"

# --root without --nvidia-smi: /proc and /sys only, and a warning saying so.
detect_noshim() { run_bs -- detect --root "$GPU_FIX/h200-ubuntu24.04" --min-disk-mib 1 "$@"; }
detect_noshim --json
assert_rc 0
assert_j \
    "d['nvidia_smi']['status']" "skipped" \
    "d['nvidia_smi']['path']" None \
    "d['nvidia_smi']['runs']" 0 \
    "d['gpus'][0]['memory_total_mib']" None \
    "d['gpus'][0]['compute_capability']" "9.0" \
    "d['gpus'][0]['compute_capability_source']" "model name" \
    "d['verdict']['status']" warn \
    "R.get('smi_skipped')" warn
