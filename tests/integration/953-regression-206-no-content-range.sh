#!/bin/bash
# 953-regression-206-no-content-range: a ranged GET answered 206 without Content-Range (and
# without ETag) once made fetch.c's headers_done() read uninitialised stack memory (found by
# valgrind during the reliability work). Now it must be a clean protocol error, retried and
# finally reported, with no uninitialised read under valgrind.
# Needs build/bootstrap, valgrind and python3; the mock serves a 24 MiB model so the download
# is ranged.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_cmd valgrind
BOOTSTRAP=$REPO_ROOT/build/bootstrap
need_bootstrap
mock_start
mock_faults '[{"match": {"origin": "cdn", "range": true},
               "sequence": [{"omit_headers": ["Content-Range", "ETag"]}]}]'
env -i PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf2" HF_ENDPOINT="$HF_ENDPOINT" \
    HF_TOKEN="$TOKEN_OK" BOOTSTRAP_RETRIES=0 \
    timeout 300 valgrind -q --error-exitcode=99 --track-origins=yes "$BOOTSTRAP" \
    download fishaudio/openaudio-s1-mini --include model.pth >"$T/vg.out" 2>"$T/vg.err" || true
if grep -q 'uninitialised' "$T/vg.err"; then
    grep -m3 -A6 'uninitialised' "$T/vg.err" >&2
    fail "reproduced: headers_done() uses uninitialised v/a/total (fetch.c)"
fi
grep -q 'without Content-Range' "$T/vg.err" || { cat "$T/vg.err" >&2; fail "no clear message for a 206 without Content-Range"; }
echo "ok: clean protocol error, no uninitialised read"
