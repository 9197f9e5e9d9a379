#!/bin/bash
# 203-auth-login-files: `login --token-stdin` validates, then writes what huggingface_hub
# writes: the raw token (no newline) in $HF_HOME/token mode 0600 under a 0700 directory,
# atomically (no temp file left, a symlink at the path is replaced, never followed), and
# a sorted configparser stored_tokens section (other sections kept), readable by
# huggingface_hub's own code. A rejected token writes nothing; api_org tokens are refused;
# an existing valid login is kept unless --force; `logout` removes the token and its
# section, says "not logged in" when there is nothing, and warns that HF_TOKEN still wins.
# Without a terminal `login` never prompts: three methods, exit 4, in well under a second.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl

MOCK_MODEL_SIZE=4K MOCK_CODEC_SIZE=4K mock_start
rand_token() {
    printf 'hf_%s' "$("$PYTHON" -c 'import secrets,string; print("".join(secrets.choice(string.ascii_letters) for _ in range(34)))')"
}
IN=$(mktemp -d "${TMPDIR:-/tmp}/bs-203-in.XXXXXX") # token stdin files live outside $T
at_exit "rm -rf '$IN'"
stdin_of() { # stdin_of TOKEN: a file to feed as standard input
    printf '%s\n' "$1" >"$IN/tok"
    echo "$IN/tok"
}
mode() { stat -c %a "$1"; }

# -- non-interactive without any token: exit 4 fast, the three methods ---------------------
t0=$(date +%s%N)
run_bs -- login
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_rc 4
echo "non-interactive login without a token: exit 4 in $ms ms"
limit=$((1000 * $(slow_factor)))   # valgrind alone takes a second to start
[ "$ms" -lt "$limit" ] || fail "took $ms ms (must not wait)"
assert_contains "$T/err" "no terminal to ask for a token on"
assert_contains "$T/err" "1. at a terminal (most secure): bootstrap login"
assert_contains "$T/err" "2. with the token in HF_TOKEN: printf '%s' \"\$HF_TOKEN\" | bootstrap login --token-stdin"
# a binary built in the source tree offers setup.sh and .env, naming the folder they are in
assert_contains "$T/err" "3. from the source tree ($REPO_ROOT): export HF_TOKEN=hf_... ; bash setup.sh"
assert_contains "$T/err" "or: cp .env.example .env ; put HF_TOKEN=hf_... in .env ; bash setup.sh"
[ ! -e "$T/hf/token" ] || fail "a token file appeared"
run_bs BOOTSTRAP_NON_INTERACTIVE=1 -- login --non-interactive
assert_rc 4

# -- a token the Hub rejects is never saved -------------------------------------------------
BS_STDIN=$(stdin_of "$(rand_token)") run_bs -- login --token-stdin
assert_rc 4
assert_contains "$T/err" "invalid or revoked token"
if [ -e "$T/hf/token" ] || [ -e "$T/hf/stored_tokens" ]; then fail "files written for a bad token"; fi
BS_STDIN=$(stdin_of "api_org$(rand_token)") run_bs -- login --token-stdin
assert_rc 4
assert_contains "$T/err" "organization token"
assert_eq "$(mock_log_count --path '^/api/whoami-v2$' --auth yes)" 1 "api_org rejected before any request"
BS_STDIN=/dev/null run_bs -- login --token-stdin
assert_rc 4
assert_contains "$T/err" "standard input holds no token"

# -- login --token-stdin: the files -----------------------------------------------------------
mkdir -p "$T/hf"
cat >"$T/hf/stored_tokens" <<EOF
[zz-other]
hf_token = $TOKEN_FG

EOF
chmod 600 "$T/hf/stored_tokens"
chmod 755 "$T/hf"
BS_STDIN=$(stdin_of "$TOKEN_OK") run_bs -- login --token-stdin
assert_rc 0
assert_contains "$T/err" "logged in as alice (token 'bootstrap-test', role read)"
assert_contains "$T/err" "token saved to $T/hf/token"
assert_eq "$(mode "$T/hf/token")" 600 "token file mode"
assert_eq "$(mode "$T/hf/stored_tokens")" 600 "stored_tokens mode"
assert_eq "$(mode "$T/hf")" 700 "HF_HOME mode"
assert_eq "$(cat "$T/hf/token")" "$TOKEN_OK" "token file content"
assert_eq "$(stat -c %s "$T/hf/token")" "${#TOKEN_OK}" "no trailing newline"
printf '[bootstrap-test]\nhf_token = %s\n\n[zz-other]\nhf_token = %s\n\n' "$TOKEN_OK" "$TOKEN_FG" >"$IN/want"
cmp -s "$IN/want" "$T/hf/stored_tokens" || { diff "$IN/want" "$T/hf/stored_tokens" | sed "s/hf_[A-Za-z]*/hf_.../g" >&2; fail "stored_tokens"; }
for f in "$T"/hf/*.tmp.* "$T"/hf/.*.tmp.*; do
    [ ! -e "$f" ] || fail "temporary file left behind: $f"
done
# huggingface_hub reads these files this way (utils/_auth.py: _get_token_from_file, get_stored_tokens)
"$PYTHON" - "$T/hf" "$TOKEN_OK" <<'EOF' || fail "huggingface_hub's reading of the files"
import configparser, pathlib, sys
home, tok = pathlib.Path(sys.argv[1]), sys.argv[2]
clean = lambda t: t.replace("\r", "").replace("\n", "").strip() or None
assert clean((home / "token").read_text()) == tok
c = configparser.ConfigParser(); c.read(home / "stored_tokens")
st = {n: c.get(n, "hf_token") for n in c.sections()}
assert st["bootstrap-test"] == tok and len(st) == 2, sorted(st)
EOF
if "$PYTHON" -c 'import huggingface_hub' 2>/dev/null; then
    HF_HOME=$T/hf "$PYTHON" -c 'import sys; from huggingface_hub import get_token; from huggingface_hub.utils._auth import get_stored_tokens; assert get_token() == sys.argv[1]; assert "bootstrap-test" in get_stored_tokens()' "$TOKEN_OK" ||
        fail "huggingface_hub does not see the login"
    echo "huggingface_hub $("$PYTHON" -c 'import huggingface_hub as h; print(h.__version__)') sees the login"
fi

# -- an existing valid login is kept ---------------------------------------------------------
ino=$(stat -c %i "$T/hf/token")
run_bs -- login
assert_rc 0
assert_contains "$T/err" "already logged in as alice"
assert_contains "$T/err" "bootstrap login --force"
assert_eq "$(stat -c %i "$T/hf/token")" "$ino" "token file untouched"

# --force with a new token replaces it atomically (new inode, never truncated in place)
BS_STDIN=$(stdin_of "$TOKEN_DENIED") run_bs -- login --token-stdin --force
assert_rc 0
assert_contains "$T/err" "logged in as bob"
[ "$(stat -c %i "$T/hf/token")" != "$ino" ] || fail "token file rewritten in place"
assert_eq "$(cat "$T/hf/token")" "$TOKEN_DENIED"
assert_contains "$T/hf/stored_tokens" "[no-licence]"

# a token stored but since revoked: `login` at no terminal says so and exits 4
printf '%s' "$(rand_token)" >"$T/hf/token"
run_bs -- login
assert_rc 4
assert_contains "$T/err" "is invalid or revoked; logging in again"

# -- never through a symlink ---------------------------------------------------------------
printf 'precious' >"$IN/victim"
rm -f "$T/hf/token"
ln -s "$IN/victim" "$T/hf/token"
BS_STDIN=$(stdin_of "$TOKEN_OK") run_bs -- login --token-stdin
assert_rc 0
[ -L "$T/hf/token" ] && fail "the token path is still a symlink"
assert_eq "$(cat "$IN/victim")" precious "symlink target"
assert_eq "$(cat "$T/hf/token")" "$TOKEN_OK"

# -- HF_TOKEN in the environment still wins: login and logout say so -------------------------
BS_STDIN=$(stdin_of "$TOKEN_OK") run_bs HF_TOKEN="$TOKEN_FG" -- login --token-stdin --force
assert_rc 0
assert_contains "$T/err" "HF_TOKEN is set in this environment to another token and takes precedence"
BS_STDIN=$(stdin_of "$TOKEN_OK") run_bs HF_TOKEN="$TOKEN_OK" -- login --token-stdin --force
assert_rc 0
assert_not_contains "$T/err" "takes precedence" # the same token: nothing to warn about

# -- logout ----------------------------------------------------------------------------------
run_bs -- logout
assert_rc 0
assert_contains "$T/err" "logged out: removed the token file '$T/hf/token'"
[ ! -e "$T/hf/token" ] || fail "token file still there"
assert_not_contains "$T/hf/stored_tokens" "$TOKEN_OK"
assert_contains "$T/hf/stored_tokens" "[zz-other]"
run_bs -- logout
assert_rc 0
assert_contains "$T/err" "not logged in"
run_bs HF_TOKEN="$TOKEN_FG" -- logout
assert_rc 0
assert_contains "$T/err" "HF_TOKEN is still set in this environment and still wins"
run_bs -- whoami
assert_rc 4

for tok in "$TOKEN_OK" "$TOKEN_DENIED" "$TOKEN_FG"; do
    leak_scan "$tok"
done
echo "ok: login and logout files"
