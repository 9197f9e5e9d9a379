#!/bin/bash
# 517-next-steps-pasted (issue 14 #7): the next step a failed or interrupted run prints is
# pasted into a shell, as a person would, and must make progress:
#   - 'bash setup.sh' with the token in a .env, interrupted: the step re-runs setup.sh (which
#     finds the token again), not 'bootstrap --resume' (no stored token: exit 4);
#   - a demo run with --allow-no-gpu and --state-dir, interrupted: the step keeps both
#     (without them the resume fails the hardware check or looks at another state);
#   - a bad HF_TOKEN in the environment: the step says to fix or unset the variable
#     ('bootstrap login' cannot help while it wins);
#   - under the unit (INVOCATION_ID): the login guidance offers no setup.sh or .env.example,
#     which an installed instance does not have, and says to restart the unit.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/run/helpers.sh
. "$REPO_ROOT/tests/fixtures/run/helpers.sh"
need_bootstrap
export MOCK_MODEL_SIZE=4M MOCK_CODEC_SIZE=1M
mock_start
write_manifest
SLOW='[{"match": {"origin": "cdn", "file": "(^|/)model\\.pth$"}, "sequence": [{"drip_bps": 200000}]}]'

# the environment of a person's shell (the one the step is pasted into)
base_env() {
    printf '%s\n' PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf" TMPDIR="$T/tmp" LANG=C.UTF-8 \
        HF_ENDPOINT="$HF_ENDPOINT" BOOTSTRAP_BIN="$BOOTSTRAP" BOOTSTRAP_ENV_FILE="$T/.env" \
        BOOTSTRAP_NON_INTERACTIVE=1 "ASAN_OPTIONS=${ASAN_OPTIONS:-}"
}
mkdir -p "$T/home" "$T/tmp"
mapfile -t ENVS < <(base_env)

# the step recorded by the run in state dir $1
step_of() {
    "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["next_step"])' "$1/state.json"
}
# the command after "...: " in a step ("continue with: CMD", "then: CMD")
command_of() {
    local s=${1##*continue with: }
    printf '%s\n' "${s##*then: }"
}
# start a command in the background with a slow CDN, stop it once it downloads: SIGTERM to
# its whole process group, as systemd or a closed terminal would
interrupt() {
    local pid n
    mock_faults "$SLOW"
    rm -f "$T/i.err"
    setsid env -i "${ENVS[@]}" "$@" >"$T/i.out" 2>"$T/i.err" &
    pid=$!
    wait_for "$T/i.err" "downloading fishaudio/openaudio-s1-mini"
    kill -TERM -- "-$pid" || fail "no process group $pid to stop"
    wait "$pid" || true
    for n in $(seq 100); do
        pgrep -g "$pid" >/dev/null || break
        sleep 0.1
    done
    [ "$n" -lt 100 ] || fail "the stopped run did not end"
    mock_faults '[]'
}
paste_step() {
    env -i "${ENVS[@]}" bash -c "$1" >"$T/p.out" 2>"$T/p.err" && return 0
    echo "pasted: $1" >&2
    tail -n 15 "$T/p.err" >&2
    return 1
}

# 1. setup.sh with the token in .env
printf 'HF_TOKEN=%s\n' "$TOKEN_OK" >"$T/.env"
chmod 600 "$T/.env"
interrupt bash "$REPO_ROOT/setup.sh" --config "$T/manifest.json" --allow-no-gpu --no-handoff \
    --state-dir "$T/s1"
step=$(step_of "$T/s1")
cmd=$(command_of "$step")
echo "step: $step"
case $cmd in
"bash $REPO_ROOT/setup.sh --resume"*) ;;
*) fail "the step after an interrupted setup.sh is not setup.sh again: $step" ;;
esac
paste_step "$cmd" || fail "pasting '$cmd' failed"
grep -q "everything is ready\|hand" "$T/p.err" || fail "the pasted step did not finish the run"

# 2. --allow-no-gpu and --state-dir are kept; the token from stdin must come again
rm -rf "$T/hf" "$T/ws/checkpoints" # nothing there: the download must be under way when it is stopped
interrupt sh -c "printf '%s' '$TOKEN_OK' | '$BOOTSTRAP' run --config '$T/manifest.json' --allow-no-gpu --token-stdin --no-handoff --state-dir '$T/s2'"
step=$(step_of "$T/s2")
cmd=$(command_of "$step")
echo "step: $step"
case $cmd in *--allow-no-gpu*) ;; *) fail "the resume step drops --allow-no-gpu: $step" ;; esac
case $cmd in *"--state-dir '$T/s2'"*) ;; *) fail "the resume step drops --state-dir: $step" ;; esac
case $cmd in *--token-stdin*) ;; *) fail "the resume step forgets the token is not stored: $step" ;; esac
ENVS+=("HF_TOKEN=$TOKEN_OK")
paste_step "${cmd/bootstrap /$BOOTSTRAP }" || fail "pasting '$cmd' failed"
# the run has handed off and finished; once more: "nothing to do; to run it again: CMD"
paste_step "${cmd/bootstrap /$BOOTSTRAP }" || fail "pasting '$cmd' a second time failed"
step=$(step_of "$T/s2")
echo "step: $step"
again=${step##*to run it again: }
case $again in
*"--state-dir '$T/s2'"*"--force handoff") ;;
*) fail "the step to run the entrypoint again loses the run's options: $step" ;;
esac
rm -f "$T/report.txt"
paste_step "${again/bootstrap /$BOOTSTRAP }" || fail "pasting '$again' failed"
[ -f "$T/report.txt" ] || fail "pasting '$again' did not run the entrypoint again"
unset 'ENVS[${#ENVS[@]}-1]'

# 3. a bad HF_TOKEN wins over any login: the step must say so
run_bs HF_TOKEN=hf_thisTokenIsNotValidAtAll0123 -- run --config "$T/manifest.json" --allow-no-gpu \
    --state-dir "$T/s3" --no-handoff --non-interactive
assert_rc 4
step=$(step_of "$T/s3")
case $step in
*"HF_TOKEN is set in this environment and wins over a saved login"*"or unset it"*) ;;
*) fail "with a bad HF_TOKEN the step is: $step" ;;
esac

# 4. under the unit: nothing that only a checkout has
run_bs INVOCATION_ID=0123456789abcdef -- run --config "$T/manifest.json" --allow-no-gpu \
    --state-dir "$T/s4" --no-handoff --non-interactive
assert_rc 4
assert_not_contains "$T/err" "setup.sh"
assert_not_contains "$T/err" ".env.example"
assert_contains "$T/err" "sudo systemctl restart bootstrap"
echo "ok"
