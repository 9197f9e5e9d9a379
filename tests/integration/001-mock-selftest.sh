#!/bin/bash
# 001-mock-selftest: the mock Hub's own self-test (tests/mock_hub/selftest.py): every
# endpoint, error shape, Range case, redirect and fault action, plain and over TLS.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_cmd "$PYTHON" openssl

if ! "$PYTHON" "$REPO_ROOT/tests/mock_hub/selftest.py" >"$T/selftest.out" 2>&1; then
    cat "$T/selftest.out"
    fail "mock Hub self-test failed"
fi
cat "$T/selftest.out"
tail -n 1 "$T/selftest.out" | grep -Eq '^[0-9]+ passed, 0 failed$' || fail "unexpected closing line"
