#!/bin/bash
# 004-mock-lib: lib.sh itself, with a stub in place of bootstrap: run_bs's clean
# environment, captures and exit status, the assertions (pass and fail), the timeout,
# and leak_scan finding a token written into the state directory.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# This test sends or prints tokens on purpose (it checks that leak_scan catches them).
LEAK_SCAN_AUTO=0

cat >"$T/stub" <<'EOF'
#!/bin/sh
# prints its environment and arguments, then does what $STUB_DO says
env | sort
echo "args: $*"
echo "to stderr" >&2
case ${STUB_DO:-} in
sleep) sleep 30 ;;
leak) mkdir -p "$BOOTSTRAP_STATE_DIR" && echo "$HF_TOKEN" >"$BOOTSTRAP_STATE_DIR/state.json" ;;
login) mkdir -p "$HF_HOME" && printf %s "$HF_TOKEN" >"$HF_HOME/token" ;;
esac
exit "${STUB_RC:-0}"
EOF
chmod +x "$T/stub"
export BOOTSTRAP=$T/stub
export PARENT_SECRET=should-not-pass

# -- run_bs: clean environment, VAR=value words, captures, status ------------------------
run_bs STUB_RC=3 FOO=bar -- fetch --flag "two words"
assert_rc 3
assert_contains "$T/out" "FOO=bar"
assert_contains "$T/out" "HOME=$T/home"
assert_contains "$T/out" "HF_HOME=$T/hf"
assert_contains "$T/out" "BOOTSTRAP_STATE_DIR=$T/state"
assert_contains "$T/out" "args: fetch --flag two words"
assert_not_contains "$T/out" "PARENT_SECRET"
assert_not_contains "$T/out" "HF_ENDPOINT="        # no mock yet
assert_contains "$T/err" "to stderr"
if [ ! -f "$T/runs/1.out" ] || [ ! -f "$T/runs/1.err" ]; then fail "run copies missing"; fi

run_bs --version
assert_rc 0
assert_contains "$T/out" "args: --version"

BS_TIMEOUT=1 run_bs STUB_DO=sleep -- x
assert_rc 124

# -- assertions fail when they should --------------------------------------------------
printf 'abc' >"$T/f"
assert_file_sha256 "$T/f" ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
assert_eq 1 1
for bad in "assert_eq 1 2" "assert_contains $T/f xyz" "assert_not_contains $T/f abc" \
    "assert_file_sha256 $T/f 00" "assert_rc 77" "fail boom"; do
    if (eval "$bad") 2>/dev/null; then
        fail "'$bad' did not fail"
    fi
done
rc=0
(skip "just checking") >/dev/null || rc=$?
assert_eq "$rc" 77 "skip exit status"

# -- with the mock: HF_ENDPOINT reaches the binary, leak_scan works ------------------------
MOCK_MODEL_SIZE=64K MOCK_CODEC_SIZE=64K mock_start
run_bs HF_TOKEN="$TOKEN_OK" STUB_DO=login -- login
assert_rc 0
assert_contains "$T/out" "HF_ENDPOINT=$MOCK_HUB_URL"
# stdout now holds the token (the stub prints its environment): excuse it explicitly,
# the token file in $HF_HOME is allowed by default
leak_scan "$TOKEN_OK" --allow "$T/out" --allow "$T/runs/4.out"
if (LEAK_SCAN_STRICT=1 leak_scan "$TOKEN_OK" --allow "$T/out" --allow "$T/runs/4.out") 2>/dev/null; then
    fail "LEAK_SCAN_STRICT=1 must flag \$HF_HOME/token"
fi
run_bs HF_TOKEN="$TOKEN_OK" STUB_DO=leak -- fetch
if (leak_scan "$TOKEN_OK" --allow "$T/out" --allow "$T/runs/4.out" --allow "$T/runs/5.out") \
    2>"$T/leak.err"; then
    fail "leak_scan missed the token in the state dir"
fi
assert_contains "$T/leak.err" "$T/state/state.json"
leak_scan "$TOKEN_DENIED"

# -- expected_* with and without a running mock -----------------------------------------
sum=$(expected_sha256 fishaudio/openaudio-s1-mini model.pth)
[[ $sum =~ ^[0-9a-f]{64}$ ]] || fail "expected_sha256: '$sum'"
assert_eq "$(expected_size fishaudio/openaudio-s1-mini model.pth)" 65536
assert_eq "$(expected_sha256 google/fleurs data/fi_fi/train.tsv)" \
    "$(curl -sS "$HF_ENDPOINT/datasets/google/fleurs/resolve/main/data/fi_fi/train.tsv" | sha256sum | cut -d' ' -f1)"
mock_stop
unset MOCK_HUB_URL
assert_eq "$(expected_sha256 fishaudio/openaudio-s1-mini model.pth)" "$sum" "offline manifest"
echo "PASS: $TEST_NAME"
