#!/bin/bash
# 103-detect-mig: an A100-SXM4-80GB in MIG mode with two 3g.40gb instances: detect lists them
# (`nvidia-smi -L`), judges the 40 GiB instance, and warns how to turn MIG off.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/gpu/detect-lib.sh
. "$REPO_ROOT/tests/fixtures/gpu/detect-lib.sh"
need_bootstrap

detect a100-mig --json
assert_rc 0
assert_j \
    "d['verdict']['status']" warn \
    "R.get('mig_enabled')" warn \
    "d['gpus'][0]['mig_enabled']" True \
    "len(d['gpus'][0]['mig_instances'])" 2 \
    "d['gpus'][0]['mig_instances'][1]" "{'profile': '3g.40gb', 'uuid': 'MIG-7d2f0a3b-4c5d-5e6f-8a9b-0c1d2e3f4a5b', 'device': 1, 'memory_mib': 40960}" \
    "d['gpus'][0]['usable_memory_mib']" 40960 \
    "d['nvidia_smi']['runs']" 3

detect a100-mig
assert_rc 0
assert_contains "$T/out" "MIG 3g.40gb    device 0  40960 MiB"
assert_contains "$T/out" "sudo nvidia-smi -i 0 -mig 0"

# A 48 GiB floor: the 40 GiB instance is not enough.
detect a100-mig --min-vram-mib 49152 --json
assert_rc 3
assert_reason vram_low fail
