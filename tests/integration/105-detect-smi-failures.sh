#!/bin/bash
# 105-detect-smi-failures: nvidia-smi that cannot talk to the driver (upgrade without
# reboot), a Driver/library version mismatch, "No devices were found", a hang (killed at
# --nvidia-smi-timeout: the test finishes in about that time), and no nvidia-smi at all
# while /proc shows the driver.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/gpu/detect-lib.sh
. "$REPO_ROOT/tests/fixtures/gpu/detect-lib.sh"
need_bootstrap

detect smi-driver-error --json
assert_rc 3
assert_j \
    "R.get('driver_mismatch')" fail \
    "d['nvidia_smi']['status']" driver_error \
    "d['nvidia_smi']['exit_code']" 9 \
    "d['nvidia_smi']['message'].startswith(\"NVIDIA-SMI has failed because it couldn't communicate\")" True \
    "'reboot' in d['verdict']['reasons'][0]['next']" True \
    "d['gpus'][0]['name']" "NVIDIA A10G"
detect smi-driver-error
assert_rc 3
assert_contains "$T/out" "kernel module 535.183.01 is loaded"
assert_contains "$T/out" "next: reboot the instance"

detect smi-version-mismatch --json
assert_rc 3
assert_j \
    "R.get('driver_mismatch')" fail \
    "d['nvidia_smi']['status']" version_mismatch \
    "'user-space library 550.127' in d['verdict']['reasons'][0]['message']" True

detect smi-no-devices --json
assert_rc 3
assert_j \
    "R.get('smi_no_devices')" fail \
    "R.get('gpu_excluded')" fail

t0=$(date +%s%N)
detect smi-hang --nvidia-smi-timeout 500 --json
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_rc 3
assert_j \
    "R.get('smi_timeout')" fail \
    "d['nvidia_smi']['status']" timeout \
    "d['nvidia_smi']['exit_code']" None
[ "$ms" -lt 5000 ] || fail "a hanging nvidia-smi took $ms ms to give up (timeout 500 ms)"
if pgrep -f "sleep 60" >/dev/null 2>&1 && pgrep -a -f "sleep 60" | grep -q "$GPU_FIX"; then
    fail "the hanging double is still running"
fi

run_bs -- detect --root "$GPU_FIX/h200-ubuntu24.04" --nvidia-smi "$T/no/nvidia-smi" \
    --min-disk-mib 1 --json
assert_rc 0
assert_j \
    "R.get('smi_missing')" warn \
    "d['nvidia_smi']['status']" not_found \
    "d['nvidia_smi']['path']" "$T/no/nvidia-smi" \
    "'nvidia-utils-580-server' in d['verdict']['reasons'][0]['next']" True \
    "d['gpus'][0]['usable']" True

# Present but not executable: reported, the GPUs from /proc still count.
printf '#!/bin/sh\necho hi\n' >"$T/noexec"
chmod 644 "$T/noexec"
run_bs -- detect --root "$GPU_FIX/h200-ubuntu24.04" --nvidia-smi "$T/noexec" --min-disk-mib 1 --json
assert_rc 0
assert_j \
    "d['nvidia_smi']['status']" exec_error \
    "d['nvidia_smi']['message']" "cannot execute: Permission denied" \
    "R.get('smi_failed')" warn \
    "d['verdict']['usable_gpus']" 1
