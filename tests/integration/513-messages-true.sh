#!/bin/bash
# 513-messages-true: what a person reads leads somewhere (issue 14):
#   * Ctrl-C during 'download' says the partial data is kept and how to continue, and
#     following that (the same command again) completes the download;
#   * a wrong revision is a "not found", never a login failure, and its hint speaks of the
#     option the person used (--revision), not of a manifest they do not have; in 'run', the
#     failure is "the model or its data cannot be found", not "cannot log in";
#   * an anonymous id that does not exist may be a typo: the message says so; the rename hint
#     about fishaudio/s1-mini appears only for that model;
#   * the bad-token hint names the Hub in use (HF_ENDPOINT), not huggingface.co.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
. "$REPO_ROOT/tests/fixtures/run/helpers.sh"
need_bootstrap
skip_under_valgrind "the Ctrl-C timing is not valgrind's"

mock_start
REPO=fishaudio/openaudio-s1-mini

# Ctrl-C: the partial is kept, the same command continues
mock_ctl set '{"cdn_rate_bps": 2000000}' >/dev/null
mkdir -p "$T/home" "$T/tmp"
env -i PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf" TMPDIR="$T/tmp" LANG=C.UTF-8 HF_ENDPOINT="$HF_ENDPOINT" \
    HF_TOKEN="$TOKEN_OK" "$BOOTSTRAP" download "$REPO" >"$T/bg.out" 2>"$T/bg.err" &
pid=$!
for _ in $(seq 1 200); do
    [ "$(find "$T/hf" -name '*.bspart' -size +200k 2>/dev/null | head -n 1)" ] && break
    sleep 0.05
done
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
assert_eq "$rc" 130 "exit status after Ctrl-C"
assert_contains "$T/bg.err" "bytes received are kept"
assert_contains "$T/bg.err" "run the same command again: it continues where it stopped"
mock_ctl set '{"cdn_rate_bps": 0}' >/dev/null
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO"
assert_rc 0

# no GPU with --allow-no-gpu: the cause and the consequence once each, not three warnings
write_manifest
printf '%s\n' "$TOKEN_OK" >"$T/tok"
BS_STDIN=$T/tok run_bs -- run --config "$T/manifest.json" --allow-no-gpu --token-stdin --no-handoff
assert_rc 0
n=$(grep -c -i 'warning:.*GPU' "$T/err" || true)
[ "$n" -le 2 ] || fail "$n no-GPU warnings: $(grep -i 'warning:.*GPU' "$T/err")"
rm -rf "$T/state"

# a wrong revision: not found (6), the hint speaks of --revision
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --revision no-such-branch
assert_rc 6
assert_contains "$T/err" "revision not found"
assert_contains "$T/err" "--revision option"
assert_not_contains "$T/err" "cannot log in"
run_bs HF_TOKEN="$TOKEN_OK" -- whoami --check-access "$REPO" --revision no-such-branch
assert_rc 6
assert_contains "$T/err" "--revision option"
assert_not_contains "$T/err" "cannot log in"
# in run: the failure says what is missing, not "cannot log in"
write_manifest 'm["model"]["revision"] = "no-such-branch"'
BS_STDIN=$T/tok run_bs -- run --config "$T/manifest.json" --allow-no-gpu --token-stdin
assert_rc 6
assert_contains "$T/err" "the model or its data cannot be found"
assert_not_contains "$T/err" "cannot log in"

# an anonymous id that does not exist: "or does not exist"; no s1-mini rename hint for it
run_bs -- whoami --check-access someone/no-such-model
[ "$RC" -ne 0 ] || fail "a missing repo passed the access check"
assert_contains "$T/err" "does not exist"
assert_not_contains "$T/err" "s1-mini"
run_bs HF_TOKEN="$TOKEN_OK" -- whoami --check-access someone/no-such-model
[ "$RC" -ne 0 ] || fail "a missing repo passed the access check"
assert_not_contains "$T/err" "s1-mini"

# a revoked token: the hint names this Hub, not huggingface.co
run_bs HF_TOKEN=hf_thisisnotavalidtokenforthemockhubatall -- download "$REPO" --revision no-such-branch
assert_rc 4
assert_contains "$T/err" "$HF_ENDPOINT/settings/tokens"
assert_not_contains "$T/err" "https://huggingface.co/settings/tokens"

# fixable mistakes exit 2 (the unit does not retry them for ever), saying where and what
printf '{\n  "schema": 1,\n  "name": "x",\n  "model": {"repo": "a/b",}\n}\n' >"$T/bad.json"
run_bs -- run --config "$T/bad.json" --allow-no-gpu
assert_rc 2
assert_contains "$T/err" "not valid JSON: line 4, column"
assert_contains "$T/err" "fix the manifest"
run_bs -- status
assert_not_contains "$T/out" "phase none"
assert_contains "$T/out" "failed before the first phase (exit 2: usage)"
: >"$T/afile"
run_bs -- run --config "$REPO_ROOT/launchable/launchable.json" --state-dir "$T/afile/state" --allow-no-gpu
assert_rc 2
assert_contains "$T/err" "--state-dir"
run_bs HF_TOKEN="$TOKEN_OK" HF_HUB_CACHE="$T/afile/hub" -- download "$REPO"
assert_rc 2
assert_contains "$T/err" "point HF_HUB_CACHE (or HF_HOME) at a writable folder"
# a missing manifest named with --config: the next step names it, never --config ''
run_bs -- run --config "$T/missing.json" --allow-no-gpu
assert_rc 2
assert_not_contains "$T/err" "--config ''"
