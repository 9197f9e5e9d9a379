#!/bin/bash
# demo_entrypoint.sh - the entrypoint of `make demo` and of the hand-off tests: instead of
# training, it shows what bootstrap handed over (docs/handoff.md) and checks the contract:
# arguments, the documented BOOTSTRAP_* variables, the model files, no token in the
# environment, no inherited descriptors except the lock. It creates the done file, so a
# later `bootstrap --resume` says the run has finished.
#
# DEMO_ENTRYPOINT_REPORT=FILE also writes argv, the whole environment (NAME=value, one a
# line, sorted) and the open descriptors there, for tests to check.
# Exit status: 0 when the contract holds, 12 when it does not.
set -uo pipefail

bad=0
say() { printf '  %s\n' "$*"; }
problem() { printf '  PROBLEM: %s\n' "$*"; bad=1; }

echo "== demo entrypoint: bootstrap handed over =="
say "program:    $0"
say "arguments:  $# ($*)"
say "directory:  $(pwd)"
for v in BOOTSTRAP_MODEL_DIR BOOTSTRAP_MODEL_REPO BOOTSTRAP_MODEL_REVISION BOOTSTRAP_DATA_DIR \
    BOOTSTRAP_HW_REPORT BOOTSTRAP_STATE_DIR BOOTSTRAP_WORKSPACE BOOTSTRAP_GPU_COUNT \
    BOOTSTRAP_ALLOW_NO_GPU BOOTSTRAP_DONE_FILE BOOTSTRAP_LOCK_FD BOOTSTRAP_CONFIG \
    BOOTSTRAP_LOG_FILE BOOTSTRAP_VERSION HF_HOME HF_HUB_OFFLINE; do
    if [ -n "${!v+x}" ]; then
        say "$(printf '%-25s %s' "$v" "${!v}")"
    else
        case $v in
        BOOTSTRAP_MODEL_DIR|BOOTSTRAP_DATA_DIR|BOOTSTRAP_STATE_DIR|BOOTSTRAP_WORKSPACE|\
        BOOTSTRAP_GPU_COUNT|BOOTSTRAP_HW_REPORT|BOOTSTRAP_DONE_FILE)
            problem "$v is not set" ;;
        esac
    fi
done

if [ -n "${HF_TOKEN:-}" ] || [ -n "${HUGGING_FACE_HUB_TOKEN:-}" ]; then
    say "token:      HF_TOKEN is set (the manifest asked for it: pass_token)"
else
    say "token:      none in the environment (as the contract says, unless pass_token)"
fi

if [ -d "${BOOTSTRAP_MODEL_DIR:-/nonexistent}" ]; then
    say "model files:"
    (cd "$BOOTSTRAP_MODEL_DIR" && find . -maxdepth 2 -type f ! -path './.cache/*' -printf '%P %s bytes\n' |
        sort | sed 's/^/    /')
else
    problem "the model directory '${BOOTSTRAP_MODEL_DIR:-}' does not exist"
fi
if [ -d "${BOOTSTRAP_DATA_DIR:-/nonexistent}" ]; then
    say "data:       $(find "$BOOTSTRAP_DATA_DIR" -type f ! -name '.bootstrap-unpacked' | wc -l) files under $BOOTSTRAP_DATA_DIR"
else
    problem "the data directory '${BOOTSTRAP_DATA_DIR:-}' does not exist"
fi
[ -f "${BOOTSTRAP_HW_REPORT:-/nonexistent}" ] || problem "no hardware report at '${BOOTSTRAP_HW_REPORT:-}'"

# Descriptors: 0-2, the lock, and nothing else. bash itself keeps this script open (on
# 255 or so): that one is ours, not inherited.
self=$(readlink -f "$0")
fds=()
for f in "/proc/$$/fd/"*; do
    n=${f##*/}
    if [ "$n" -le 2 ] || [ ! -e "$f" ]; then continue; fi
    [ "$(readlink -f "$f")" = "$self" ] && continue
    fds+=("$n")
done
say "open descriptors above 2: ${fds[*]:-none}"
for n in "${fds[@]+"${fds[@]}"}"; do
    [ "$n" = "${BOOTSTRAP_LOCK_FD:-}" ] || problem "descriptor $n was inherited ($(readlink "/proc/$$/fd/$n"))"
done

if [ -n "${DEMO_ENTRYPOINT_REPORT:-}" ]; then
    {
        printf 'argc=%d\n' "$#"
        for a in "$@"; do printf 'arg=%s\n' "$a"; done
        printf 'cwd=%s\n' "$(pwd)"
        for n in "${fds[@]+"${fds[@]}"}"; do printf 'fd=%s\n' "$n"; done
        env | LC_ALL=C sort | sed 's/^/env:/'
    } >"$DEMO_ENTRYPOINT_REPORT"
fi

if [ "$bad" = 0 ]; then
    [ -z "${BOOTSTRAP_DONE_FILE:-}" ] || date -u +%FT%TZ >"$BOOTSTRAP_DONE_FILE"
    echo "== demo entrypoint: the hand-off contract holds; a real Launchable would start training here =="
    exit 0
fi
echo "== demo entrypoint: the hand-off contract does NOT hold (see above) =="
exit 12
