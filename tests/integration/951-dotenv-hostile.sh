#!/bin/bash
# 951-dotenv-hostile.sh - the .env reader of setup.sh (read_env_token) never executes or
# expands anything, whatever the file holds: a property test with random hostile lines.
#
# DOTENV_CASES random .env files (default 300; DOTENV_SEED fixes the random sequence, printed
# at the start) are built from pieces a shell would act on: $(...), backticks, ;, &&, |,
# ${VAR}, $((...)), <(...), globs, ~, unbalanced quotes, CRs, "export", comments. Each command
# in them would create a file under $T/pwned/. For every file:
#   - read_env_token (taken out of setup.sh as it is) returns, and nothing appears in
#     $T/pwned/,
#   - its result is a literal piece of one line of the file (so nothing was expanded) and
#     holds no newline,
#   - with a plain "HF_TOKEN=hf_<random>" line last, the result is exactly that token.
# Then setup.sh itself runs on some of the files with a stand-in bootstrap (BOOTSTRAP_BIN):
# the token must arrive on its standard input only (never in its arguments or environment)
# and nothing may be executed.
# tags: reliability
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
skip_under_valgrind "setup.sh runs with a stand-in bootstrap, \$BOOTSTRAP is not run"

SETUP=$REPO_ROOT/setup.sh
[ -f "$SETUP" ] || skip "no setup.sh"
grep -q '^read_env_token() {' "$SETUP" || skip "setup.sh has no read_env_token() (renamed?)"

CASES=${DOTENV_CASES:-300}
SEED=${DOTENV_SEED:-$(( $(date +%s) % 32768 ))}
echo "seed $SEED ($CASES cases; rerun with DOTENV_SEED=$SEED)"
RANDOM=$SEED

PW=$T/pwned
mkdir -p "$PW" "$T/home" "$T/hf" "$T/env"

# The function as setup.sh defines it (setup.sh runs main when sourced, so take it out).
sed -n '/^read_env_token() {/,/^}/p' "$SETUP" >"$T/read_env_token.sh"
# shellcheck source=/dev/null
. "$T/read_env_token.sh"
declare -F read_env_token >/dev/null || fail "could not load read_env_token from setup.sh"

# piece N: one hostile fragment; every command in it would touch $PW/<tag>
hostile() {
    local p=$PW/$1
    local pieces=(
        "\$(touch $p)" "\`touch $p\`" "\"\$(touch $p)\"" "'\$(touch $p)'" "x;touch $p"
        "x && touch $p" "x | touch $p" "x || touch $p" "\${HOME}" "\$((1+1))" "<(touch $p)"
        ">(touch $p)" "\"unterminated \$(touch $p)" "'unterminated" "a # \$(touch $p)"
        "\\\\" "*" "~" "-n" "%s%n%x" "\$IFS" "\${IFS}touch\${IFS}$p" "\$'\\x41'"
        "\"\`touch $p\`\"" "'\`touch $p\`'" "hf_\$(touch $p)" "\"a\" \"b\"" "'a'b" "!!" "\$0"
        "\$(<$SETUP)" ")" "(" "{ touch $p; }" "\"\"" "''" " " "" "=" "=="
    )
    printf '%s' "${pieces[RANDOM % ${#pieces[@]}]}"
}

random_line() {
    local tag=$1 keys prefixes seps suffixes
    keys=(HF_TOKEN HUGGING_FACE_HUB_TOKEN OTHER "HF_TOKEN\$(touch $PW/$tag.k)" "\`touch $PW/$tag.k\`"
        "HF TOKEN" "" "1BAD" "HF_TOKEN " " HF_TOKEN")
    prefixes=("" "" "  " $'\t' "export " "export  " "#" "# " ";")
    seps=("=" "=" " = " "==" "= " "")
    suffixes=("" "" $'\r' " # \$(touch $PW/$tag.s)" "; touch $PW/$tag.s" " \`touch $PW/$tag.s\`")
    printf '%s%s%s%s%s%s' "${prefixes[RANDOM % ${#prefixes[@]}]}" "${keys[RANDOM % ${#keys[@]}]}" \
        "${seps[RANDOM % ${#seps[@]}]}" "$(hostile "$tag.a")" "$(hostile "$tag.b")" \
        "${suffixes[RANDOM % ${#suffixes[@]}]}"
}

# A random test token: hf_ + 34 letters.
new_token() {
    local letters=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ t=hf_ i
    for i in $(seq 34); do t+=${letters:RANDOM % 52:1}; done
    printf '%s' "$t"
}

pwned() {
    [ -n "$(ls -A "$PW")" ]
}

for c in $(seq "$CASES"); do
    f=$T/env/$c.env
    n=$((1 + RANDOM % 12))
    : >"$f"
    for l in $(seq "$n"); do
        random_line "c$c.l$l" >>"$f"
        printf '\n' >>"$f"
    done
    out=$(cd "$T" && read_env_token "$f") || fail "case $c: read_env_token failed on $f"
    pwned && fail "case $c: something was executed: $(ls "$PW") (file $f, seed $SEED)"
    case $out in *$'\n'*) fail "case $c: the value holds a newline ($f)" ;; esac
    if [ -n "$out" ] && ! grep -q -F -- "$out" "$f"; then
        fail "case $c: '$out' is not written in $f: something was expanded (seed $SEED)"
    fi
    # the last plain line wins
    tok=$(new_token)
    cp "$f" "$f.tok"
    printf 'HF_TOKEN=%s\n' "$tok" >>"$f.tok"
    out=$(cd "$T" && read_env_token "$f.tok")
    pwned && fail "case $c: something was executed: $(ls "$PW") ($f.tok)"
    [ "$out" = "$tok" ] || fail "case $c: read '$out' instead of the token on the last line ($f.tok)"
done
echo "$CASES hostile .env files read: nothing executed, nothing expanded"

# -- setup.sh end to end, with a stand-in bootstrap ----------------------------------------
cat >"$T/fake-bootstrap" <<FAKE
#!/bin/bash
# records what setup.sh hands over
printf '%s\n' "\$@" >"$T/fake.args"
env >"$T/fake.env"
cat >"$T/fake.stdin"
exit 0
FAKE
chmod +x "$T/fake-bootstrap"
runs=0
for c in $(seq 1 $((CASES / 10 + 1)) "$CASES"); do
    f=$T/env/$c.env.tok
    [ -f "$f" ] || continue
    tok=$(tail -n 1 "$f" | cut -d= -f2)
    rm -f "$T/fake.args" "$T/fake.env" "$T/fake.stdin"
    chmod 600 "$f"
    (cd "$T" && env -i PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf" BOOTSTRAP_BIN="$T/fake-bootstrap" \
        BOOTSTRAP_ENV_FILE="$f" BOOTSTRAP_NON_INTERACTIVE=1 bash "$SETUP" --resume \
        </dev/null >"$T/setup.out" 2>"$T/setup.err") || fail "setup.sh failed on $f: $(cat "$T/setup.err")"
    pwned && fail "setup.sh executed something from $f: $(ls "$PW")"
    [ -f "$T/fake.stdin" ] || fail "setup.sh did not run the stand-in bootstrap ($f)"
    assert_eq "$(cat "$T/fake.stdin")" "$tok" "token on standard input"
    assert_eq "$(paste -sd' ' "$T/fake.args")" "run --token-stdin --resume" "bootstrap arguments"
    assert_not_contains "$T/fake.env" "$tok"
    assert_not_contains "$T/setup.err" "$tok"
    assert_not_contains "$T/setup.out" "$tok"
    runs=$((runs + 1))
done
echo "setup.sh ran $runs time(s) on hostile .env files: token on stdin only, nothing executed"

# bounded: a 900 KB line is skipped at once (it was quadratic: a 1 MB line took 10 s), the
# lines after it count; a file over 1 MiB (the red team's 2 MB line) is not read at all
say() { echo "setup: $*" >&2; }
timed_read() {   # timed_read FILE: the token read from FILE in GOT, milliseconds in MS
    local t0
    t0=$(date +%s%N)
    GOT=$(read_env_token "$1" 2>"$1.err")
    MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}
{ head -c 900000 /dev/zero | tr '\0' 'a'; printf '\nHF_TOKEN=hf_afterthelongline\n'; } >"$T/long.env"
timed_read "$T/long.env"
assert_eq "$GOT" "hf_afterthelongline" "token after a 900 KB line"
assert_contains "$T/long.env.err" "line 1 is longer than 4096 characters: skipped"
[ "$MS" -lt 5000 ] || fail "a 900 KB line took $MS ms"
ms=$MS
{ head -c 2000000 /dev/zero | tr '\0' 'a'; printf '\nHF_TOKEN=hf_x\n'; } >"$T/huge.env"
timed_read "$T/huge.env"
assert_eq "$GOT" "" "token from a file over 1 MiB"
assert_contains "$T/huge.env.err" "is larger than 1 MiB: not reading it as a .env file"
[ "$MS" -lt 2000 ] || fail "a 2 MB file took $MS ms"
echo "a 900 KB line: $ms ms; a 2 MB file: $MS ms"
