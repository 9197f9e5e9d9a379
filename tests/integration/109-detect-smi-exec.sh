#!/bin/bash
# 109-detect-smi-exec: how nvidia-smi is started: an argument vector (no shell: the query
# arrives as one word), an allow-listed environment (PATH, LD_LIBRARY_PATH, LANG/LC_ALL=C;
# never HF_TOKEN), stdin from /dev/null, no leaked descriptors; and nvidia-smi found on
# PATH when no --root is given.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/gpu/detect-lib.sh
. "$REPO_ROOT/tests/fixtures/gpu/detect-lib.sh"
need_bootstrap

TOKEN=hf_$("$PYTHON" -c 'import random, string; print("".join(random.choice(string.ascii_letters) for _ in range(30)))')
mkdir -p "$T/bin"
# The spy: records how it was started, then behaves like the H200 double. Python, so that
# its own descriptors are predictable (a shell dups descriptors for its redirections).
cat >"$T/bin/nvidia-smi" <<SPY
#!$("$PYTHON" -c "import sys; print(sys.executable)")
import os, sys
fds = []
for fd in sorted(os.listdir("/proc/self/fd"), key=int):
    try:
        fds.append("%s->%s" % (fd, os.readlink("/proc/self/fd/" + fd)))
    except OSError:
        pass  # the directory listdir had open
with open("$T/spy.log", "a") as log:
    if len(sys.argv) > 1 and sys.argv[1] == "--baseline":
        log.write("baseline=%s\\n" % " ".join(fds))
        sys.exit(0)
    log.write("argc=%d\\n" % (len(sys.argv) - 1))
    for a in sys.argv[1:]:
        log.write("arg=%s\\n" % a)
    for k in sorted(os.environ):
        log.write("env:%s=%s\\n" % (k, os.environ[k]))
    log.write("fds=%s\\n" % " ".join(fds))
    log.write("stdin=%r|\\n" % sys.stdin.read(10))
os.execv("/bin/sh", ["sh", "$GPU_FIX/smi-double.sh", "$GPU_FIX/h200-ubuntu24.04"] + sys.argv[1:])
SPY
chmod +x "$T/bin/nvidia-smi"

# Both the baseline and bootstrap start from a clean descriptor table (only 0, 1, 2), so
# that descriptors the CI runner hands down cannot blur the result: anything above 2 in
# the spy is then what bootstrap leaked. The wrapper is the real interpreter, not a pyenv
# shim, so that it adds nothing to the environment.
PY_REAL=$("$PYTHON" -c 'import sys; print(sys.executable)')
cat >"$T/closefds.py" <<'WRAP'
import os, sys
os.closerange(3, 1 << 16)
os.execvp(sys.argv[1], sys.argv[1:])
WRAP
env -i PATH="$PATH" timeout 60 "$PY_REAL" "$T/closefds.py" "$T/bin/nvidia-smi" --baseline \
    </dev/null >/dev/null 2>&1 || fail "the spy does not run"
baseline=$(sed -n 's/^baseline=//p' "$T/spy.log")

saved_wrap=("${BS_WRAP[@]+"${BS_WRAP[@]}"}")
BS_WRAP=("$PY_REAL" "$T/closefds.py" "${saved_wrap[@]+"${saved_wrap[@]}"}")
run_bs HF_TOKEN="$TOKEN" HUGGING_FACE_HUB_TOKEN="$TOKEN" LD_LIBRARY_PATH=/usr/local/nvidia/lib64 \
    -- detect --root "$GPU_FIX/h200-ubuntu24.04" --nvidia-smi "$T/bin/nvidia-smi" --min-disk-mib 1 --json
BS_WRAP=("${saved_wrap[@]+"${saved_wrap[@]}"}")
assert_rc 0
assert_j "d['nvidia_smi']['status']" ok
assert_contains "$T/spy.log" "arg=--query-gpu=index,uuid,name,pci.bus_id,driver_version,memory.total,memory.used,memory.free,compute_cap,mig.mode.current,persistence_mode"
assert_contains "$T/spy.log" "arg=--format=csv,noheader,nounits"
assert_contains "$T/spy.log" "arg=--version"
assert_contains "$T/spy.log" "env:LANG=C"
assert_contains "$T/spy.log" "env:LC_ALL=C"
assert_contains "$T/spy.log" "env:LD_LIBRARY_PATH=/usr/local/nvidia/lib64"
assert_contains "$T/spy.log" "env:PATH=$PATH"
# Each invocation (argc= starts one) sees exactly these four names, nothing more.
calls=$(grep -c '^argc=' "$T/spy.log")
[ "$calls" -ge 2 ] || fail "nvidia-smi ran $calls time(s), expected the query and --version"
names=$(awk -F'[:=]' '/^argc=/ { if (n) print n; n = "" } /^env:/ { n = n " " $2 } END { print n }' \
    "$T/spy.log" | sort -u)
[ "$names" = " LANG LC_ALL LD_LIBRARY_PATH PATH" ] \
    || fail "the child's environment is not exactly PATH, LD_LIBRARY_PATH, LANG, LC_ALL: '$names'"
assert_not_contains "$T/spy.log" "HF_TOKEN"
assert_contains "$T/spy.log" "stdin=''|"
# Standard streams differ (/dev/null and our pipes); nothing else may be added.
# (grep -v selects nothing when only 0, 1, 2 are open: not an error here.)
strip012() { tr ' ' '\n' | { grep -v -E '^[012]->' || true; } | sort | tr '\n' ' '; }
want=$(printf '%s' "$baseline" | strip012)
while read -r got; do
    got=$(printf '%s' "$got" | strip012)
    [ "$got" = "$want" ] || fail "descriptors leaked into nvidia-smi: '$got', expected '$want'"
done < <(sed -n 's/^fds=//p' "$T/spy.log")
grep -q '^fds=0->/dev/null ' "$T/spy.log" || fail "stdin of nvidia-smi is not /dev/null: $(grep '^fds=' "$T/spy.log" | head -n 1)"
leak_scan "$TOKEN"

# No --root: nvidia-smi is found on PATH (here: our spy first on PATH). The verdict is
# about the real /proc and /sys of this machine, so only the search is checked.
rm -f "$T/spy.log"
run_bs PATH="$T/bin:$PATH" -- detect --json --min-disk-mib 1
[ -s "$T/out" ] || fail "detect on this machine printed no JSON (rc=$RC): $(head -c 2000 "$T/err")"
assert_j \
    "d['nvidia_smi']['path']" "$T/bin/nvidia-smi" \
    "d['nvidia_smi']['status']" ok
[ -s "$T/spy.log" ] || fail "nvidia-smi on PATH was not run"
