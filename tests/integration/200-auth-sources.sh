#!/bin/bash
# 200-auth-sources: the token is found exactly as huggingface_hub finds it, and
# `whoami` says which source was used: --token-stdin, then HF_TOKEN, then
# HUGGING_FACE_HUB_TOKEN (an empty value counts as unset; a blank HF_TOKEN hides it),
# then the token file at HF_TOKEN_PATH, else $HF_HOME/token, else
# $XDG_CACHE_HOME/huggingface/token, else ~/.cache/huggingface/token. The file is
# cleaned (CR/LF, surrounding whitespace), read through a symlink, and a loose mode
# gives a warning. The token itself never appears, only "hf_…" + 4 characters.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl

MOCK_MODEL_SIZE=4K MOCK_CODEC_SIZE=4K mock_start

# a fourth account, created at test time like the others
TOKEN_DAVE=hf_$("$PYTHON" -c 'import secrets,string; print("".join(secrets.choice(string.ascii_letters) for _ in range(34)))')
mock_ctl add-token "{\"token\": \"$TOKEN_DAVE\", \"user\": \"dave\", \"role\": \"read\", \"token_name\": \"dave-read\"}" >/dev/null

mkdir -p "$T/hf" "$T/custom" "$T/xdg/huggingface" "$T/home/.cache/huggingface" "$T/secret-in"
put() { # put FILE TOKEN [MODE]
    printf '%s' "$2" >"$1"
    chmod "${3:-600}" "$1"
}
put "$T/hf/token" "$TOKEN_DENIED"

# expect USER SOURCE-TEXT: the last run used USER's token and named SOURCE-TEXT
expect() {
    assert_rc 0
    assert_contains "$T/out" "user:   $1"
    assert_contains "$T/out" "source: $2"
}

# 1. the token file at $HF_HOME/token
run_bs -- whoami
expect bob "token file '$T/hf/token'"
assert_contains "$T/out" "hf_…${TOKEN_DENIED: -4}"
assert_not_contains "$T/out" "$TOKEN_DENIED"

# 2. HUGGING_FACE_HUB_TOKEN beats the file
run_bs HUGGING_FACE_HUB_TOKEN="$TOKEN_FG" -- whoami
expect carol "the environment variable HUGGING_FACE_HUB_TOKEN"

# 3. HF_TOKEN beats both
run_bs HF_TOKEN="$TOKEN_OK" HUGGING_FACE_HUB_TOKEN="$TOKEN_FG" -- whoami
expect alice "the environment variable HF_TOKEN"

# 4. an empty HF_TOKEN counts as unset
run_bs HF_TOKEN= HUGGING_FACE_HUB_TOKEN="$TOKEN_FG" -- whoami
expect carol "the environment variable HUGGING_FACE_HUB_TOKEN"

# 5. a blank (whitespace) HF_TOKEN: `HF_TOKEN or LEGACY` picks it, it cleans to nothing,
#    so huggingface_hub goes on to the file, not to the legacy variable
run_bs HF_TOKEN="  " HUGGING_FACE_HUB_TOKEN="$TOKEN_FG" -- whoami
expect bob "token file"

# 6. --token-stdin beats everything
put "$T/secret-in/stdin" "$TOKEN_DAVE"
BS_STDIN=$T/secret-in/stdin run_bs HF_TOKEN="$TOKEN_OK" -- whoami --token-stdin
expect dave "standard input (--token-stdin)"

# 7. HF_TOKEN_PATH beats $HF_HOME/token
put "$T/custom/tok" "$TOKEN_FG"
run_bs HF_TOKEN_PATH="$T/custom/tok" -- whoami
expect carol "token file '$T/custom/tok'"

# 8. no HF_HOME: $XDG_CACHE_HOME/huggingface/token
put "$T/xdg/huggingface/token" "$TOKEN_OK"
run_bs HF_HOME= XDG_CACHE_HOME="$T/xdg" -- whoami
expect alice "token file '$T/xdg/huggingface/token'"

# 9. neither: ~/.cache/huggingface/token
put "$T/home/.cache/huggingface/token" "$TOKEN_DAVE"
run_bs HF_HOME= XDG_CACHE_HOME= -- whoami
expect dave "token file '$T/home/.cache/huggingface/token'"

# 10. cleaning: CR/LF anywhere and surrounding whitespace; a trailing newline is fine
printf '  %s\r\n' "$TOKEN_OK" >"$T/hf/token"
run_bs -- whoami
expect alice "token file"
printf '%s\n%s' "${TOKEN_OK:0:10}" "${TOKEN_OK:10}" >"$T/hf/token"
run_bs -- whoami
expect alice "token file"

# 11. read through a symlink (huggingface_hub follows it when reading)
put "$T/custom/real" "$TOKEN_FG"
rm -f "$T/hf/token"
ln -s "$T/custom/real" "$T/hf/token"
run_bs -- whoami
expect carol "token file '$T/hf/token'"
rm -f "$T/hf/token"

# 12. a token file readable by others: used, with a warning and the fix
put "$T/hf/token" "$TOKEN_OK" 644
run_bs -- whoami
expect alice "token file"
assert_contains "$T/err" "readable by group or others (mode 0644)"
assert_contains "$T/err" "chmod 600 '$T/hf/token'"
chmod 600 "$T/hf/token"
run_bs -- whoami
assert_not_contains "$T/err" "readable by group"

# 13. a whitespace-only file means "no token", an error with the three methods
printf ' \n' >"$T/hf/token"
run_bs -- whoami
assert_rc 4
assert_contains "$T/err" "no Hugging Face token found"
assert_contains "$T/err" "bootstrap login"
assert_contains "$T/err" "export HF_TOKEN="
assert_contains "$T/err" ".env"

rm -rf "$T/secret-in"
for tok in "$TOKEN_OK" "$TOKEN_DENIED" "$TOKEN_FG" "$TOKEN_DAVE"; do
    leak_scan "$tok" --allow "$T/custom/tok" --allow "$T/custom/real" \
        --allow "$T/xdg/huggingface/token" --allow "$T/home/.cache/huggingface/token"
done
echo "ok: token sources and precedence"
