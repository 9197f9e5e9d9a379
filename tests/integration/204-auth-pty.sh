#!/bin/bash
# 204-auth-pty: `bootstrap login` at a real (pseudo-)terminal, driven with python3's pty
# module: the token typed at the hidden prompt never appears in what the terminal shows;
# the login is validated and saved; an existing login is not asked again; Ctrl-C at the
# prompt exits 130 with echo restored (`stty -a` afterwards shows "echo", not "-echo"),
# and so do SIGTERM (143) and Ctrl-\ (SIGQUIT, default action after the restore); an
# empty answer or Ctrl-D is exit 4; --token-stdin on a terminal is refused at once.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl stty

MOCK_MODEL_SIZE=4K MOCK_CODEC_SIZE=4K mock_start
mkdir -p "$T/home"

cat >"$T/drive.py" <<'EOF'
"""drive.py CASE TOKEN: run `bootstrap login` in a pty (bash -c, as a person would) and
check what the terminal showed. Prints what it saw with the token masked."""
import os, pty, re, select, signal, sys, time

case, token = sys.argv[1], sys.argv[2]
B = os.environ["B"]
env = {k: os.environ[k] for k in ("PATH", "HOME", "HF_HOME", "HF_ENDPOINT", "ASAN_OPTIONS",
                                   "UBSAN_OPTIONS") if k in os.environ}
env["TERM"] = "dumb"
args = "--token-stdin" if case == "stdin-tty" else ""
script = f'ulimit -c 0; stty echo; $BW "$B" login {args}; echo "rc=$?"; stty -a'
env["B"] = B
env["BW"] = os.environ.get("BW", "")   # the valgrind prefix under VALGRIND=1, else empty

pid, fd = pty.fork()
if pid == 0:
    os.execve("/bin/bash", ["bash", "--noprofile", "--norc", "-c", script], env)

out = b""
def pump(until=None, t=15.0):
    """Read until the regex `until` shows up (or EOF / timeout). True when seen."""
    global out
    end = time.time() + t
    while time.time() < end:
        if until is not None and re.search(until, out):
            return True
        r, _, _ = select.select([fd], [], [], 0.05)
        if not r:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    return until is not None and re.search(until, out) is not None

def bootstrap_pid():
    """The bootstrap process: the child of the pty's bash."""
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            return int(p)
    return None

def shown():
    return out.decode("utf-8", "replace").replace(token, "<TOKEN>")

def check(cond, what):
    if not cond:
        print("terminal showed:\n" + shown())
        sys.exit(f"FAIL {case}: {what}")

def echo_restored():
    tail = out.decode("utf-8", "replace").split("rc=", 1)[-1]
    return re.search(r"(?<![-\w])echo(?![\w])", tail) is not None and \
        re.search(r"(?<![\w])-echo(?![\w])", tail) is None

if case in ("type", "ctrl-c", "sigterm", "sigquit", "empty", "eof"):
    check(pump(rb"Token: "), "no 'Token: ' prompt")
    check(b"/settings/tokens" in out, "prompt text without the token page")
    time.sleep(0.2)
    if case == "type":
        os.write(fd, token.encode() + b"\r")
    elif case == "ctrl-c":
        os.write(fd, token[:10].encode())   # half typed, then ^C
        time.sleep(0.2)
        os.write(fd, b"\x03")
    elif case == "sigterm":
        bp = bootstrap_pid()
        check(bp is not None, "bootstrap process not found")
        os.kill(bp, signal.SIGTERM)
    elif case == "sigquit":
        os.write(fd, b"\x1c")                 # ^\
    elif case == "empty":
        os.write(fd, b"\r")
    elif case == "eof":
        os.write(fd, b"\x04")                 # ^D
pump(rb"speed .*baud", t=20.0)                # stty -a ran
pump(None, t=0.5)
os.waitpid(pid, 0)
os.close(fd)

want_rc = {"type": 0, "ctrl-c": 130, "sigterm": 143, "sigquit": 131, "empty": 4, "eof": 4,
           "already": 0, "stdin-tty": 2}[case]
m = re.search(rb"rc=(\d+)", out)
check(m is not None and int(m.group(1)) == want_rc, f"exit status, want {want_rc}")
check(token.encode() not in out, "the token appeared on the terminal")
check(token[:10].encode() not in out, "typed characters were echoed")
check(echo_restored(), "terminal echo not restored (stty -a shows -echo)")
if case == "type":
    check(b"logged in as alice" in out, "no 'logged in as' line")
if case == "already":
    check(b"already logged in as alice" in out and b"Token:" not in out, "asked again")
if case == "stdin-tty":
    check(b"not from a terminal" in out and b"Token:" not in out, "stdin tty not refused")
print(f"ok {case}: rc={want_rc}, no echo, terminal restored")
EOF

drive() {
    env B="$BOOTSTRAP" BW="${BS_WRAP[*]+"${BS_WRAP[*]}"}" HOME="$T/home" HF_HOME="$T/hf" HF_ENDPOINT="$HF_ENDPOINT" \
        timeout -k 5 60 "$PYTHON" "$T/drive.py" "$1" "$TOKEN_OK" || fail "pty case '$1'"
}

drive type
assert_eq "$(cat "$T/hf/token")" "$TOKEN_OK" "token saved from the prompt"
assert_eq "$(stat -c %a "$T/hf/token")" 600 "token file mode"
drive already
run_bs -- logout
assert_rc 0
drive ctrl-c
drive sigterm
drive sigquit
drive empty
drive eof
drive stdin-tty
[ ! -e "$T/hf/token" ] || fail "an interrupted or empty login left a token file"
leak_scan "$TOKEN_OK"
echo "ok: hidden prompt on a pty, terminal restored on every way out"
