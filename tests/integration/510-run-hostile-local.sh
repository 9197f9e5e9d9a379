#!/bin/bash
# 510-run-hostile-local: our own files that are not what they should be are refused at once,
# never waited on or trusted (red-team findings 7 and 8, issue 15):
#   * a FIFO at bootstrap.log, state.json or stored_tokens: run, status, login and logout end
#     at once (no hang), saying which file is not a regular file;
#   * a state directory writable by others (0777) or owned by another user is refused by
#     'run' with the fix (chmod 700, or a folder of your own), exit 2;
#   * token-shaped arguments are never echoed: 'download REPO --token hf_...' and
#     'run --token=hf_...' are refused with how to pass a token safely (--token is not taken
#     as an abbreviation of --token-stdin), and 'run hf_...', 'status hf_...' mask it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd mkfifo timeout

TOK=hf_$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 34)
[ ${#TOK} -eq 37 ] || fail "could not make a test token"

# --- token-shaped arguments ----------------------------------------------------------------
for args in "download some/repo --token $TOK" "download some/repo --token=$TOK" \
    "run --token $TOK" "run --token=$TOK" "login --token $TOK" "whoami --token=$TOK"; do
    # shellcheck disable=SC2086
    run_bs -- $args
    assert_rc 2
    assert_contains "$T/err" "--token is refused"
    assert_contains "$T/err" "--token-stdin"
    assert_not_contains "$T/err" "$TOK"
    assert_not_contains "$T/out" "$TOK"
done
for args in "run $TOK" "status $TOK" "detect $TOK" "unpack $TOK"; do
    # shellcheck disable=SC2086
    run_bs -- $args
    assert_rc 2
    assert_not_contains "$T/err" "$TOK"
    assert_not_contains "$T/out" "$TOK"
done
leak_scan "$TOK"

# --- FIFOs where our files go: refused at once -----------------------------------------------
mkdir -p "$T/state" "$T/hf"
chmod 700 "$T/state"
mkfifo "$T/state/state.json"
BS_TIMEOUT=20 run_bs -- status
[ "$RC" != 124 ] || fail "status hung on a FIFO state.json"
assert_contains "$T/err" "not a regular file"
rm -f "$T/state/state.json"
mkfifo "$T/state/bootstrap.log"
BS_TIMEOUT=20 run_bs -- run --config "$REPO_ROOT/launchable/launchable.json" --no-handoff
[ "$RC" != 124 ] || fail "run hung on a FIFO bootstrap.log"
rm -f "$T/state/bootstrap.log"
mkfifo "$T/hf/stored_tokens"
for cmd in "logout" "login --token-stdin"; do
    # shellcheck disable=SC2086
    BS_STDIN=/dev/null BS_TIMEOUT=20 run_bs -- $cmd
    [ "$RC" != 124 ] || fail "$cmd hung on a FIFO stored_tokens"
done
rm -f "$T/hf/stored_tokens"

# --- a state directory others can write to, or that belongs to someone else -----------------
mkdir -p "$T/shared"
chmod 777 "$T/shared"
run_bs -- run --state-dir "$T/shared" --config "$REPO_ROOT/launchable/launchable.json" --no-handoff
assert_rc 2
assert_contains "$T/err" "is writable by other users (mode 0777)"
assert_contains "$T/err" "chmod 700"
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$T/theirs"
    chown 65534 "$T/theirs"
    chmod 700 "$T/theirs"
    run_bs -- run --state-dir "$T/theirs" --config "$REPO_ROOT/launchable/launchable.json" --no-handoff
    assert_rc 2
    assert_contains "$T/err" "belongs to user id 65534"
else
    echo "not checked here: a state directory owned by another user (needs root to make one)"
fi
