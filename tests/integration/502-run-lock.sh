#!/bin/bash
# 502-run-lock: two runs at once. The second one says who holds the state directory (pid,
# start time) and exits 10 without touching the state; with --wait it waits and then goes
# on. After the hand-off the entrypoint keeps the lock (BOOTSTRAP_LOCK_FD), so a run
# started while the training runs is refused too.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/run/helpers.sh
. "$REPO_ROOT/tests/fixtures/run/helpers.sh"
need_bootstrap
need_test_hooks
export MOCK_MODEL_SIZE=1M MOCK_CODEC_SIZE=1M
mock_start
write_manifest
printf '%s' "$TOKEN_OK" >"$T/token"
mapfile -t args < <(run_args)

BS_STDIN=$T/token bs_bg BOOTSTRAP_TEST_HOLD=detect:30000 -- "${args[@]}" --token-stdin --no-handoff
wait_for "$T/bg.err" "test hold: pausing"
first=$BG_PID
cp "$STATE_JSON" "$T/state-before.json"

# the second run: refused at once with the holder named
start=$(date +%s%N)
BS_STDIN=$T/token run_bs -- "${args[@]}" --token-stdin
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_rc 10
assert_contains "$T/err" "another bootstrap is running (pid"
assert_contains "$T/err" "started 20"
assert_contains "$T/err" "doing: bootstrap run"
assert_contains "$T/err" "--wait"
[ "$took_ms" -lt 5000 ] || fail "the refusal took $took_ms ms"
cmp -s "$STATE_JSON" "$T/state-before.json" || fail "the refused run changed the state"
# status sees the running one
run_bs -- status
assert_rc 0
assert_contains "$T/out" "running: phase detect"

# --wait: waits until the first run is gone, then works
BS_STDIN=$T/token bs_bg -- "${args[@]}" --token-stdin --wait --no-handoff
second=$BG_PID
wait_for "$T/bg.err" "waiting for the running bootstrap"
sleep 0.5
kill -0 "$second" 2>/dev/null || fail "the waiting run did not wait"
kill -TERM "$first"
wait "$first" || true
BG_PID=$second
bg_wait
assert_eq "$BG_RC" 0 "exit status of the waiting run"
assert_contains "$T/bg.err" "the other bootstrap has finished; going on"
assert_eq "$(state_field 's["status"]')" skipped

# after the hand-off the entrypoint holds the lock
cat >"$T/slow-entrypoint.sh" <<'EOS'
#!/bin/bash
echo "entrypoint running with lock fd ${BOOTSTRAP_LOCK_FD:-none}"
sleep 30
EOS
chmod +x "$T/slow-entrypoint.sh"
write_manifest "m['entrypoint'] = {'path': '$T/slow-entrypoint.sh'}"
BS_STDIN=$T/token bs_bg -- "${args[@]}" --token-stdin
wait_for "$T/bg.out" "entrypoint running with lock fd 3"
BS_STDIN=$T/token run_bs -- "${args[@]}" --token-stdin --resume
assert_rc 10
assert_contains "$T/err" "doing: entrypoint $T/slow-entrypoint.sh"
run_bs -- status
assert_contains "$T/out" "the entrypoint runs (pid $BG_PID"
kill -TERM "$BG_PID"
bg_wait
