#!/bin/bash
# 101-detect-datacenter: the everyday GPUs: 8x A100-SXM4-80GB (NVSwitches on the bus must
# not count), A10G and L4 (24 GB class: a warning), an RTX 4090 desktop (iGPU and HDMI
# audio ignored), an L40S box where the driver lost one of two GPUs, two A100s with one
# excluded by the driver.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/gpu/detect-lib.sh
. "$REPO_ROOT/tests/fixtures/gpu/detect-lib.sh"
need_bootstrap

detect a100-sxm4-80gb-x8 --json
assert_rc 0
assert_j \
    "d['verdict']" "{'status': 'ok', 'usable_gpus': 8, 'reasons': []}" \
    "[g['index'] for g in d['gpus']]" "[0, 1, 2, 3, 4, 5, 6, 7]" \
    "sorted(set(g['name'] for g in d['gpus']))" "['NVIDIA A100-SXM4-80GB']" \
    "d['gpus'][7]['pci_bus_id']" "0000:bd:00.0" \
    "all(g['bf16'] and g['compute_capability'] == '8.0' for g in d['gpus'])" True \
    "d['pci']['nvidia_gpus']" 8 \
    "d['system']['cpus']" 256
detect a100-sxm4-80gb-x8 --min-gpus 8
assert_rc 0
assert_contains "$T/out" "GPUs: 8 found, 8 usable"

for c in a10g l4; do
    detect "$c" --json
    assert_rc 0
    assert_j "d['verdict']['status']" warn
    assert_reason vram_tight warn
    assert_j "len(d['verdict']['reasons'])" 1
    assert_j "d['gpus'][0]['bf16']" True
    assert_j "d['gpus'][0]['mig_enabled']" False
done
detect a10g --json
assert_j \
    "d['driver']['kernel_module']" proprietary \
    "d['driver']['cuda_version']" "12.2" \
    "d['gpus'][0]['pci_bus_id']" "0000:00:1e.0"
detect l4
assert_rc 0
assert_contains "$T/out" "warn: GPU 0 (NVIDIA L4, 0000:00:03.0) has 23034 MiB, below the recommended 24576 MiB"
assert_contains "$T/out" "        next: "

detect rtx4090 --json
assert_rc 0
assert_j \
    "len(d['gpus'])" 1 \
    "d['gpus'][0]['name']" "NVIDIA GeForce RTX 4090" \
    "d['gpus'][0]['memory_used_mib']" 612 \
    "d['gpus'][0]['persistence_mode']" False \
    "[r['code'] for r in d['verdict']['reasons']]" "['vram_tight']"

detect pci-extra-gpu --json
assert_rc 0
assert_j \
    "d['verdict']['usable_gpus']" 1 \
    "R.get('pci_not_in_driver')" warn \
    "d['gpus'][1]['sources']" "['pci']" \
    "d['gpus'][1]['index']" None
detect pci-extra-gpu --min-gpus 2
assert_rc 3
assert_contains "$T/out" "fail: GPU 0000:00:05.0 (PCI device 10de:26b9) is on the PCI bus but the NVIDIA driver does not see it"
assert_contains "$T/err" "this machine cannot run the fine-tune"

detect gpu-excluded --json
assert_rc 0
assert_j \
    "R.get('gpu_excluded')" warn \
    "d['gpus'][1]['excluded']" True \
    "d['gpus'][1]['uuid']" None \
    "d['gpus'][1]['usable']" False
