#!/bin/bash
# 505-run-handoff-contract: what the entrypoint receives (docs/handoff.md), checked by the
# demo entrypoint's report: argv (manifest args + those after '--'), the allow-listed
# environment plus BOOTSTRAP_*, HF_HUB_OFFLINE=1, no token unless "pass_token", no
# inherited descriptor but the lock, the workspace as working directory. Then the
# failures: a missing entrypoint, one that is not executable, a broken '#!' line - all
# exit 12 - and --no-handoff.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/run/helpers.sh
. "$REPO_ROOT/tests/fixtures/run/helpers.sh"
need_bootstrap
export MOCK_MODEL_SIZE=1M MOCK_CODEC_SIZE=1M
mock_start
write_manifest
mapfile -t args < <(run_args)
secret_env=(HF_TOKEN="$TOKEN_OK" HF_TOKEN_PATH=/secret/token AWS_SECRET_ACCESS_KEY=nope
            PYTHONPATH=/evil TZ=Europe/Helsinki CUDA_VISIBLE_DEVICES=0 BOOTSTRAP_MODEL_DIR=/outside)

# --no-handoff stops before it; the resume then hands off
run_bs "${secret_env[@]}" -- "${args[@]}" --no-handoff
assert_rc 0
assert_contains "$T/err" "stopping before the hand-off (--no-handoff)"
[ ! -e "$T/report.txt" ] || fail "the entrypoint ran despite --no-handoff"
assert_eq "$(state_field 's["status"]')" skipped
run_bs -- status
assert_contains "$T/out" "ready: stopped before the hand-off"

exec 7</dev/null   # an inherited descriptor without close-on-exec: must not reach the entrypoint
run_bs "${secret_env[@]}" -- "${args[@]}" --resume -- --extra "with space"
exec 7<&-
assert_rc 0
report_has "argc=4"
report_has "arg=--demo"
report_has "arg=two words"
report_has "arg=--extra"
report_has "arg=with space"
report_has "cwd=$T/ws"
report_has "fd=3"
[ "$(grep -c '^fd=' "$T/report.txt")" -eq 1 ] || fail "descriptors other than the lock reached the entrypoint: $(grep '^fd=' "$T/report.txt" | tr '\n' ' ')"
for kv in "BOOTSTRAP_MODEL_DIR=$T/ws/checkpoints/openaudio-s1-mini" "BOOTSTRAP_DATA_DIR=$T/ws/data" \
    "BOOTSTRAP_HW_REPORT=$T/state/hwreport.json" "BOOTSTRAP_STATE_DIR=$T/state" \
    "BOOTSTRAP_WORKSPACE=$T/ws" "BOOTSTRAP_GPU_COUNT=0" "BOOTSTRAP_ALLOW_NO_GPU=1" \
    "BOOTSTRAP_DONE_FILE=$T/state/entrypoint.done" "BOOTSTRAP_LOCK_FD=3" \
    "BOOTSTRAP_CONFIG=$T/manifest.json" "BOOTSTRAP_MODEL_REPO=fishaudio/openaudio-s1-mini" \
    "HF_HOME=$T/hf" "HF_HUB_CACHE=$T/hf/hub" "HF_HUB_OFFLINE=1" "HF_HUB_DISABLE_IMPLICIT_TOKEN=1" \
    "HOME=$T/home" "LANG=C.UTF-8" "TZ=Europe/Helsinki" "CUDA_VISIBLE_DEVICES=0" "PATH=$PATH" \
    "TRAIN_MODE=lora" "DEMO_ENTRYPOINT_REPORT=$T/report.txt"; do
    report_has "env:$kv"
done
report_has "env:BOOTSTRAP_MODEL_REVISION=$(state_field 's["fetch"]["model_commit"]')"
report_lacks "env:HF_TOKEN="
report_lacks "env:HF_TOKEN_PATH"
report_lacks "env:AWS_SECRET_ACCESS_KEY"
report_lacks "env:PYTHONPATH"
report_lacks "$TOKEN_OK"
assert_eq "$(grep -c '^env:' "$T/report.txt")" "$(grep '^env:' "$T/report.txt" | cut -d= -f1 | sort -u | wc -l)" "duplicate variables"

# a bare environment (no HOME, no LANG): fallbacks from the password database
rm -f "$T/state/entrypoint.done"
run_bs HOME= LANG= -- "${args[@]}" --resume
assert_rc 0
report_has "env:HOME=$(getent passwd "$(id -u)" | cut -d: -f6)"
report_has "env:LANG=C.UTF-8"

# "pass_token": true - the token, and only then
write_manifest "m['entrypoint']['pass_token'] = True"
run_bs HF_TOKEN="$TOKEN_OK" -- "${args[@]}" --resume --force handoff
assert_rc 0
report_has "env:HF_TOKEN=$TOKEN_OK"
report_lacks "env:HF_HUB_DISABLE_IMPLICIT_TOKEN"
rm -f "$T/report.txt"

# failures: exit 12, the state says so, the lock is free again
hand_off_fails() {
    local why=$1
    run_bs HF_TOKEN="$TOKEN_OK" -- "${args[@]}" --resume --force handoff
    assert_rc 12
    assert_contains "$T/err" "$why"
    assert_contains "$T/err" "the log is in $T/state/bootstrap.log"
    assert_eq "$(state_field 's["phases"]["handoff"]["status"]')" failed
    assert_eq "$(state_field 's["last_error"]["exit"]')" 12
    assert_contains "$T/state/bootstrap.log" "$why"
    cp "$T/err" "$T/fail.err"
    run_bs -- status
    assert_contains "$T/out" "failed in phase handoff (exit 12"
}
write_manifest "m['entrypoint'] = {'path': '$T/missing.sh'}"
hand_off_fails "the entrypoint '$T/missing.sh' does not exist"
printf '#!/bin/sh\nexit 0\n' >"$T/noexec.sh"
chmod 0644 "$T/noexec.sh"
write_manifest "m['entrypoint'] = {'path': '$T/noexec.sh'}"
hand_off_fails "is not executable"
assert_contains "$T/fail.err" "chmod +x"
if under_valgrind; then
    # the kernel refuses the execve itself, and valgrind cannot go on after a failed execve
    # (it exits 101, "EXEC FAILED"), so bootstrap's own handling of it cannot be seen
    echo "not under valgrind: the broken '#!' line case (a failed execve ends valgrind)"
else
    printf '#!/nonexistent/interpreter\n' >"$T/badshebang.sh"
    chmod 0755 "$T/badshebang.sh"
    write_manifest "m['entrypoint'] = {'path': '$T/badshebang.sh'}"
    hand_off_fails "cannot execute '$T/badshebang.sh'"
    assert_contains "$T/fail.err" "interpreter"
fi
# a relative path is taken from the manifest's folder
cp "$DEMO_ENTRYPOINT" "$T/rel-entry.sh"
write_manifest "m['entrypoint'] = {'path': 'rel-entry.sh', 'env': {'DEMO_ENTRYPOINT_REPORT': '$T/report.txt'}}"
run_bs HF_TOKEN="$TOKEN_OK" -- "${args[@]}" --resume --force handoff
assert_rc 0
report_has "argc=0"
leak_scan "$TOKEN_OK"
