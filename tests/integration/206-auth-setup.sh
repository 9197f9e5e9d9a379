#!/bin/bash
# 206-auth-setup: setup.sh finds the token and hands it to `bootstrap run` on standard
# input only. A fake bootstrap (BOOTSTRAP_BIN) records its argv, environment and stdin:
# HF_TOKEN / HUGGING_FACE_HUB_TOKEN from the environment -> `run --token-stdin`, token on
# stdin, removed from the child's environment; an existing login -> plain `run`; a .env
# beside setup.sh parsed as KEY=VALUE without executing anything (and a warning when it is
# readable by others); nothing at all -> `run` (which explains, exit 4) or, at a terminal,
# `login` first. Extra arguments pass through; the exit status is bootstrap's; HOME may be
# unset; `bash -x setup.sh` does not print the token.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

TOKEN=hf_$("$PYTHON" -c 'import secrets,string; print("".join(secrets.choice(string.ascii_letters) for _ in range(34)))')
IN=$(mktemp -d "${TMPDIR:-/tmp}/bs-206-in.XXXXXX") # what arrived on stdin lives here
at_exit "rm -rf '$IN'"
mkdir -p "$T/src" "$T/rec" "$T/home" "$T/hf"
cp "$REPO_ROOT/setup.sh" "$T/src/setup.sh"

cat >"$T/fake-bootstrap" <<'EOF'
#!/bin/bash
# records one call: argv -> $REC/calls, environment -> $REC/env.N, stdin -> $STDIN_DIR/stdin.N
n=$(( $(wc -l <"$REC/calls" 2>/dev/null || echo 0) + 1 ))
printf '%s\n' "$*" >>"$REC/calls"
env | sort >"$REC/env.$n"
tr '\0' ' ' </proc/$$/cmdline >"$REC/cmdline.$n"
if [ -t 0 ]; then echo tty >"$STDIN_DIR/stdin.$n"; else cat >"$STDIN_DIR/stdin.$n"; fi
exit "${FAKE_RC:-0}"
EOF
chmod +x "$T/fake-bootstrap"

# setup [VAR=value...]: run setup.sh with a small clean environment (stdin: /dev/null)
setup() {
    rm -f "$T/rec/"* "$IN/"stdin.*
    local rc=0
    env -i PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf" BOOTSTRAP_BIN="$T/fake-bootstrap" \
        REC="$T/rec" STDIN_DIR="$IN" "$@" \
        bash "$T/src/setup.sh" --resume "two words" </dev/null >"$T/out" 2>"$T/err" || rc=$?
    RC=$rc
}
calls() { cat "$T/rec/calls" 2>/dev/null; }
no_token_in_child() {
    local f
    for f in "$T/rec/"*; do
        assert_not_contains "$f" "$TOKEN"
    done
    assert_not_contains "$T/out" "$TOKEN"
    assert_not_contains "$T/err" "$TOKEN"
}

# -- method 2: HF_TOKEN in the environment -------------------------------------------------
setup HF_TOKEN="$TOKEN"
assert_rc 0
assert_eq "$(calls)" "run --token-stdin --resume two words" "argv"
assert_eq "$(cat "$IN/stdin.1")" "$TOKEN" "stdin carries the token"
assert_not_contains "$T/rec/env.1" "HF_TOKEN="
assert_contains "$T/err" "using HF_TOKEN from the environment (passed to bootstrap on standard input)"
no_token_in_child

setup HUGGING_FACE_HUB_TOKEN="$TOKEN"
assert_eq "$(calls)" "run --token-stdin --resume two words" "legacy name"
assert_eq "$(cat "$IN/stdin.1")" "$TOKEN"
assert_not_contains "$T/rec/env.1" "HUGGING_FACE_HUB_TOKEN"
no_token_in_child

# bootstrap's exit status is setup's
setup HF_TOKEN="$TOKEN" FAKE_RC=5
assert_rc 5

# -- method 1: an existing login, nothing to pass -------------------------------------------
printf '%s' "$TOKEN" >"$T/hf/token"
chmod 600 "$T/hf/token"
setup
assert_rc 0
assert_eq "$(calls)" "run --resume two words" "existing login"
assert_eq "$(cat "$IN/stdin.1")" "" "nothing on stdin"
assert_contains "$T/err" "using your saved Hugging Face login ($T/hf/token)"
no_token_in_child
# the environment still wins over the file, as in huggingface_hub
setup HF_TOKEN="$TOKEN"
assert_eq "$(calls)" "run --token-stdin --resume two words" "HF_TOKEN beats the file"
# a token file readable by others is named
chmod 644 "$T/hf/token"
setup
assert_contains "$T/err" "token file '$T/hf/token' is readable by group or others (mode 644)"
# HF_TOKEN_PATH and XDG_CACHE_HOME are honoured like huggingface_hub does
rm -f "$T/hf/token"
mkdir -p "$T/xdg/huggingface"
printf '%s\n' "$TOKEN" >"$T/xdg/huggingface/token"
setup HF_HOME= XDG_CACHE_HOME="$T/xdg"
assert_eq "$(calls)" "run --resume two words" "login under XDG_CACHE_HOME"
setup HF_TOKEN_PATH="$T/xdg/huggingface/token"
assert_eq "$(calls)" "run --resume two words" "login at HF_TOKEN_PATH"
printf '  \n' >"$T/xdg/huggingface/token"
setup HF_TOKEN_PATH="$T/xdg/huggingface/token"
assert_eq "$(calls)" "run --resume two words" "a blank token file is no login: plain run"
assert_not_contains "$T/err" "saved Hugging Face login"
rm -rf "$T/xdg"

# -- method 3: .env beside setup.sh, parsed, never executed ----------------------------------
cat >"$T/src/.env" <<EOF
# my settings
OTHER=\$(touch $T/pwned-other)
export HF_TOKEN="$TOKEN"   # read token
EOF
chmod 600 "$T/src/.env"
setup
assert_rc 0
assert_eq "$(calls)" "run --token-stdin --resume two words" ".env token"
assert_eq "$(cat "$IN/stdin.1")" "$TOKEN"
assert_contains "$T/err" "using HF_TOKEN from $T/src/.env"
assert_not_contains "$T/err" "readable by group"
[ ! -e "$T/pwned-other" ] || fail ".env was executed"
no_token_in_child

for form in "HF_TOKEN=$TOKEN" "HF_TOKEN='$TOKEN'" "  HF_TOKEN = $TOKEN # c" "HF_TOKEN=$TOKEN"$'\r'; do
    printf '%s\n' "$form" >"$T/src/.env"
    setup
    assert_eq "$(cat "$IN/stdin.1")" "$TOKEN" ".env form: ${form/$TOKEN/TOKEN}"
done
# shellcheck disable=SC2016  # the $(...) must reach .env unexpanded
printf 'HF_TOKEN=$(touch %s/pwned)\n' "$T" >"$T/src/.env"
setup
[ ! -e "$T/pwned" ] || fail ".env value was executed"
assert_eq "$(cat "$IN/stdin.1")" "\$(touch $T/pwned)" "value taken literally"

printf 'HF_TOKEN=%s\n' "$TOKEN" >"$T/src/.env"
chmod 644 "$T/src/.env"
setup
assert_contains "$T/err" ".env file '$T/src/.env' is readable by group or others (mode 644)"
printf 'HF_TOKEN=\n' >"$T/src/.env" # the template as copied: no token
setup
assert_eq "$(calls)" "run --resume two words" "empty .env value"
rm -f "$T/src/.env"

# -- nothing anywhere, no terminal: plain run (it explains and exits 4) ----------------------
setup FAKE_RC=4
assert_rc 4
assert_eq "$(calls)" "run --resume two words" "no token, no terminal"

# HOME unset (and no HF_HOME): still works
rm -f "$T/rec/"*
rc=0
env -i PATH="$PATH" BOOTSTRAP_BIN="$T/fake-bootstrap" REC="$T/rec" STDIN_DIR="$IN" \
    HF_TOKEN="$TOKEN" bash "$T/src/setup.sh" </dev/null >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 0 "HOME unset"
assert_eq "$(calls)" "run --token-stdin" "HOME unset: argv"
rm -f "$T/rec/"*
rc=0
env -i PATH="$PATH" BOOTSTRAP_BIN="$T/fake-bootstrap" REC="$T/rec" STDIN_DIR="$IN" \
    bash "$T/src/setup.sh" </dev/null >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 0 "HOME and token unset"

# bash -x does not trace the token
rm -f "$T/rec/"*
env -i PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf" BOOTSTRAP_BIN="$T/fake-bootstrap" \
    REC="$T/rec" STDIN_DIR="$IN" HF_TOKEN="$TOKEN" bash -x "$T/src/setup.sh" \
    </dev/null >"$T/out" 2>"$T/err" || true
assert_not_contains "$T/err" "$TOKEN"

# a bad BOOTSTRAP_BIN is a usage error
rc=0
env -i PATH="$PATH" HOME="$T/home" BOOTSTRAP_BIN=/nonexistent bash "$T/src/setup.sh" \
    </dev/null >/dev/null 2>"$T/err" || rc=$?
assert_eq "$rc" 2 "BOOTSTRAP_BIN missing"

# -- at a terminal with no token anywhere: `login` first, then `run` -------------------------
if command -v script >/dev/null 2>&1; then
    rm -f "$T/rec/"*
    env -i PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf" BOOTSTRAP_BIN="$T/fake-bootstrap" \
        REC="$T/rec" STDIN_DIR="$IN" TERM=dumb \
        script -qec "bash '$T/src/setup.sh' --resume" /dev/null </dev/null >"$T/out" 2>&1 || true
    assert_eq "$(calls | tr '\n' ';')" "login;run --resume;" "login first at a terminal"
fi

leak_scan "$TOKEN"
echo "ok: setup.sh passes the token on stdin only"
