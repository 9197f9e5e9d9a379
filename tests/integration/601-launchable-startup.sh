#!/bin/bash
# 601-launchable-startup: launchable/startup.sh as Brev runs it - under `env -i`, HOME
# unset, no terminal - against a test root with a systemctl double: it installs the
# bundle only when its sha256 matches the pin, links bootstrap into /usr/local, stores the
# HF_TOKEN launch parameter (never printing it), installs the unit (user, resume command,
# no retry on exit 4/5), starts it without waiting, says how to log in and watch, and can
# run twice.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd tar sha256sum curl

# the release bundle: bin/bootstrap + share/bootstrap/ (docs/launchable.md)
B=$T/bundle
mkdir -p "$B/bin" "$B/share/bootstrap" "$B/share/doc/bootstrap"
cp "$BOOTSTRAP" "$B/bin/bootstrap"
cp "$REPO_ROOT"/docs/*.md "$B/share/doc/bootstrap/"
cp "$REPO_ROOT"/launchable/{launchable.json,bootstrap.service,train_finnish.sh,fi_normalize.py,prepare_data.py} \
    "$B/share/bootstrap/"
tar -czf "$T/bundle.tar.gz" -C "$B" bin share
sha=$(sha256sum "$T/bundle.tar.gz" | cut -d' ' -f1)

cat >"$T/systemctl" <<'EOS'
#!/bin/sh
echo "systemctl $*" >>"$SYSTEMCTL_LOG"
EOS
chmod +x "$T/systemctl"
R=$T/root
ME=$(id -un)
mkdir -p "$T/userhome"

startup() {   # startup [VAR=value...]: run startup.sh the way Brev does
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        BOOTSTRAP_TEST_ROOT="$R" BOOTSTRAP_SYSTEMCTL="$T/systemctl" SYSTEMCTL_LOG="$T/systemctl.log" \
        BOOTSTRAP_BUNDLE_URL="file://$T/bundle.tar.gz" BOOTSTRAP_USER="$ME" \
        BOOTSTRAP_USER_HOME="$T/userhome" TMPDIR="$T" "$@" \
        bash "$REPO_ROOT/launchable/startup.sh" </dev/null >"$T/out" 2>"$T/err"
}

# a wrong sha256: nothing is installed
if startup BOOTSTRAP_BUNDLE_SHA256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef; then
    fail "startup.sh accepted a bundle with the wrong sha256"
fi
assert_contains "$T/err" "the pin is 0123456789abcdef"
[ ! -e "$R/usr/local/bin/bootstrap" ] || fail "installed despite the wrong sha256"
[ ! -e "$T/systemctl.log" ] || fail "systemctl was called despite the wrong sha256"
# the placeholder pin of an unreleased startup.sh is refused
if startup; then fail "startup.sh ran with the placeholder pin"; fi
assert_contains "$T/err" "no pinned bundle"

# the real thing, with the HF_TOKEN launch parameter (stored through the mock Hub)
mock_start
TOK=$TOKEN_OK
startup BOOTSTRAP_BUNDLE_SHA256="$sha" HF_TOKEN="$TOK" HF_ENDPOINT="$HF_ENDPOINT" ||
    { cat "$T/out" "$T/err" >&2; fail "startup.sh failed"; }
[ -x "$R/usr/local/bin/bootstrap" ] || fail "no $R/usr/local/bin/bootstrap"
assert_eq "$(readlink "$R/usr/local/bin/bootstrap")" "$R/opt/bootstrap/$sha/bin/bootstrap"
[ -f "$R/usr/local/share/bootstrap/launchable.json" ] || fail "the manifest is not installed"
# every file the installed binary's --help cites exists on the instance (issue 14 #7)
for c in "" run status detect login logout whoami download unpack; do
    # shellcheck disable=SC2086
    "$R/usr/local/bin/bootstrap" $c --help >"$T/help.txt" 2>&1 || fail "bootstrap $c --help"
    grep -q "docs/" "$T/help.txt" && fail "bootstrap $c --help cites docs/ (not on an instance)"
    { grep -oE '/[^ ()]*\.md' "$T/help.txt" || true; } | sort -u >"$T/cited"
    while read -r f; do
        [ -f "$f" ] || fail "bootstrap $c --help cites $f, which the bundle does not ship"
    done <"$T/cited"
done
"${BS_WRAP[@]+"${BS_WRAP[@]}"}" "$R/usr/local/bin/bootstrap" --version >/dev/null || fail "the installed bootstrap does not run"
assert_file_sha256 "$T/userhome/.cache/huggingface/token" "$(printf '%s' "$TOK" | sha256sum | cut -d' ' -f1)"
assert_contains "$T/out" "the HF_TOKEN launch parameter is stored for $ME"
assert_not_contains "$T/out" "$TOK"
assert_not_contains "$T/err" "$TOK"

U=$R/etc/systemd/system/bootstrap.service
[ -f "$U" ] || fail "no unit installed"
assert_contains "$U" "User=$ME"
assert_contains "$U" "Environment=HOME=$T/userhome"
assert_contains "$U" "Environment=BOOTSTRAP_STATE_DIR=$T/userhome/.local/state/bootstrap"
assert_contains "$U" "ExecStart=/usr/local/bin/bootstrap --resume --non-interactive --config /usr/local/share/bootstrap/launchable.json"
assert_contains "$U" "ConditionPathExists=!$T/userhome/.local/state/bootstrap/entrypoint.done"
assert_contains "$U" "Restart=on-failure"
assert_contains "$U" "WantedBy=multi-user.target"
prevent=$(sed -n 's/^RestartPreventExitStatus=//p' "$U")
for code in 2 3 4 5 6 7 8 10 11 12 13; do
    [[ " $prevent " == *" $code "* ]] || fail "exit $code is retried by the unit"
done
[[ " $prevent " != *" 9 "* ]] || fail "exit 9 (network) is not retried"
assert_not_contains "$U" "@"
assert_not_contains "$U" "$TOK"
assert_eq "$(cat "$T/systemctl.log")" "systemctl daemon-reload
systemctl enable bootstrap.service
systemctl start --no-block bootstrap.service"
assert_contains "$T/out" "bootstrap status"
assert_contains "$T/out" "journalctl -u bootstrap -f"
assert_contains "$T/out" "$T/userhome/.local/state/bootstrap/bootstrap.log"
if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze verify "$U" 2>"$T/verify.err" || true
    assert_not_contains "$T/verify.err" "Unknown key"
    assert_not_contains "$T/verify.err" "Unknown section"
fi

# twice: idempotent, the bundle is not downloaded again; without a token it says how to log in
rm -f "$T/systemctl.log"
startup BOOTSTRAP_BUNDLE_SHA256="$sha" || { cat "$T/err" >&2; fail "the second run failed"; }
assert_contains "$T/out" "already installed"
assert_contains "$T/out" "bootstrap login"
assert_contains "$T/out" "sudo systemctl restart bootstrap"
assert_eq "$(grep -c . "$T/systemctl.log")" 3

# the Hub unreachable at boot (issue 14): the token is kept (mode 0600), not dropped, and the
# text says so instead of "no HF_TOKEN launch parameter was given"
rm -rf "$T/userhome/.cache/huggingface"
startup BOOTSTRAP_BUNDLE_SHA256="$sha" HF_TOKEN="$TOK" HF_ENDPOINT="http://127.0.0.1:9" ||
    { cat "$T/err" >&2; fail "startup.sh failed with the Hub unreachable"; }
assert_file_sha256 "$T/userhome/.cache/huggingface/token" "$(printf '%s' "$TOK" | sha256sum | cut -d' ' -f1)"
assert_eq "$(stat -c %a "$T/userhome/.cache/huggingface/token")" 600 "mode of the kept token"
assert_contains "$T/out" "Hugging Face could not be reached to check the HF_TOKEN launch parameter"
assert_contains "$T/out" "is kept for $ME"
assert_not_contains "$T/out" "no HF_TOKEN launch parameter was given"
assert_not_contains "$T/out" "$TOK"
assert_not_contains "$T/err" "$TOK"
# a token the Hub refuses: said so, and how to log in
rm -rf "$T/userhome/.cache/huggingface"
startup BOOTSTRAP_BUNDLE_SHA256="$sha" HF_TOKEN="hf_notavalidtokenatallnotatallxyz" HF_ENDPOINT="$HF_ENDPOINT" ||
    { cat "$T/err" >&2; fail "startup.sh failed with a bad token"; }
assert_contains "$T/out" "was refused by Hugging Face"
assert_contains "$T/out" "the HF_TOKEN launch parameter was refused"
assert_contains "$T/out" "bootstrap login"
[ ! -e "$T/userhome/.cache/huggingface/token" ] || fail "a refused token was saved"
leak_scan "$TOK" --allow "$T/userhome/.cache/huggingface/token" --allow "$T/userhome/.cache/huggingface/stored_tokens"
