#!/bin/bash
# 108-detect-cli: options of `bootstrap detect`: help, usage errors (exit 2), a missing
# root, --json printing nothing but the document, where free disk is measured
# (--disk-path, $BOOTSTRAP_STATE_DIR, the nearest existing parent) and the disk verdict.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/gpu/detect-lib.sh
. "$REPO_ROOT/tests/fixtures/gpu/detect-lib.sh"
need_bootstrap

run_bs -- detect --help
assert_rc 0
assert_contains "$T/out" "SYNOPSIS"
assert_contains "$T/out" "--nvidia-smi-timeout MS"
run_bs -- help detect
assert_rc 0
assert_contains "$T/out" "bootstrap detect [--json]"

for bad in "--bogus" "--min-vram-mib abc" "--min-vram-mib" "--nvidia-smi-timeout 0" \
           "--nvidia-smi-timeout 10x" "--min-gpus 1000" "--min-driver 5a5" \
           "--min-driver .525" "--min-driver 525..60" "--min-driver 525." "extra-arg"; do
    # shellcheck disable=SC2086  # split on purpose
    run_bs -- detect $bad
    assert_rc 2
    assert_contains "$T/err" "try 'bootstrap detect --help'"
done
run_bs -- detect --nvidia-smi ""
assert_rc 2

run_bs -- detect --root "$T/nowhere" --json
assert_rc 2
assert_contains "$T/err" "root '$T/nowhere' is not a directory"
[ ! -s "$T/out" ] || fail "stdout not empty after a usage error"

# --json: stdout is exactly one JSON document.
detect h200-ubuntu24.04 --json
assert_rc 0
"$PYTHON" -c 'import json,sys; json.loads(open(sys.argv[1]).read())' "$T/out" \
    || fail "stdout is not one JSON document"

# Disk: --disk-path (nearest existing parent), then $BOOTSTRAP_STATE_DIR.
mkdir -p "$T/vol"
detect h200-ubuntu24.04 --disk-path "$T/vol/not/yet" --json
assert_j "d['system']['disk_path']" "$T/vol"
run_bs BOOTSTRAP_STATE_DIR="$T/vol" -- detect --root "$GPU_FIX/h200-ubuntu24.04" \
    --nvidia-smi "$GPU_FIX/h200-ubuntu24.04/nvidia-smi" --min-disk-mib 1 --json
assert_j "d['system']['disk_path']" "$T/vol"
run_bs BOOTSTRAP_STATE_DIR= -- detect --root "$GPU_FIX/h200-ubuntu24.04" \
    --nvidia-smi "$GPU_FIX/h200-ubuntu24.04/nvidia-smi" --min-disk-mib 1 --json
assert_j "d['system']['disk_path']" "."

run_bs -- detect --root "$GPU_FIX/h200-ubuntu24.04" \
    --nvidia-smi "$GPU_FIX/h200-ubuntu24.04/nvidia-smi" --min-disk-mib 999999999 --json
assert_rc 3
assert_j \
    "R.get('disk_low')" fail \
    "'BOOTSTRAP_STATE_DIR' in d['verdict']['reasons'][0]['next']" True
