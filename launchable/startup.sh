#!/bin/bash
# startup.sh - the setup script pasted into the Brev Launchable (VM mode).
#
# Brev runs it once, at instance creation, as 'ubuntu' with passwordless sudo, without a
# terminal, perhaps without HOME, while its own start-up uses apt (docs/launchable.md).
# It must stay under 16 KiB. It:
#   1. downloads the bootstrap bundle (static binary + launchable/ files) and checks its
#      pinned sha256 - nothing unverified is installed;
#   2. installs it under /opt/bootstrap/<sha256> with links /usr/local/bin/bootstrap and
#      /usr/local/share/bootstrap;
#   3. stores the Hugging Face token if the HF_TOKEN launch parameter is set;
#   4. installs and starts bootstrap.service, which runs 'bootstrap --resume' at every boot
#      until the fine-tune has finished, and returns without waiting for the training.
# It uses no apt at all (curl or wget, tar and sha256sum are on every Ubuntu image).
#
# Knobs (launch parameters or environment; tests use the last three):
#   HF_TOKEN                 Hugging Face read token, stored for the unit's user
#   BOOTSTRAP_BUNDLE_URL     bundle to install (default: the pinned release below)
#   BOOTSTRAP_BUNDLE_SHA256  its sha256 (default: the pin below)
#   BOOTSTRAP_USER           the user the training runs as (default: ubuntu, else the caller)
#   BOOTSTRAP_USER_HOME      that user's home (default: from the password database)
#   BOOTSTRAP_TEST_ROOT      install under this folder instead of / (tests)
#   BOOTSTRAP_SYSTEMCTL      systemctl to call (tests pass a double)
set -euo pipefail
umask 022

# ---- pins: written by the release (docs/launchable.md, "Releasing") --------------------
PIN_URL=https://github.com/finnish-tts/bootstrap/releases/download/v0.1.0/bootstrap-linux-x86_64.tar.gz
PIN_SHA256=0000000000000000000000000000000000000000000000000000000000000000

URL=${BOOTSTRAP_BUNDLE_URL:-$PIN_URL}
SHA256=${BOOTSTRAP_BUNDLE_SHA256:-$PIN_SHA256}
ROOT=${BOOTSTRAP_TEST_ROOT:-}
SYSTEMCTL=${BOOTSTRAP_SYSTEMCTL:-systemctl}
PATH=${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}
export PATH

say() { printf '[startup] %s\n' "$*"; }
die() { printf '[startup] error: %s\n' "$*" >&2; exit 1; }
banner() { printf '\n== %s ==\n' "$*"; }

# Root for system files: directly as root or under a test root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ] || [ -n "$ROOT" ]; then "$@"; else sudo -n "$@"; fi
}

banner "bootstrap: installing the first-boot service"

# ---- who runs the training ---------------------------------------------------------------
RUN_USER=${BOOTSTRAP_USER:-}
if [ -z "$RUN_USER" ]; then
    if id ubuntu >/dev/null 2>&1; then RUN_USER=ubuntu; else RUN_USER=$(id -un); fi
fi
id "$RUN_USER" >/dev/null 2>&1 || die "no user '$RUN_USER' (set BOOTSTRAP_USER)"
RUN_HOME=${BOOTSTRAP_USER_HOME:-$(getent passwd "$RUN_USER" | cut -d: -f6)}
[ -n "$RUN_HOME" ] || die "no home folder for '$RUN_USER' (set BOOTSTRAP_USER_HOME)"
STATE_DIR=$RUN_HOME/.local/state/bootstrap
say "user $RUN_USER, home $RUN_HOME, state $STATE_DIR"

# ---- 1. the bundle, verified -------------------------------------------------------------
[[ $SHA256 =~ ^[0-9a-f]{64}$ ]] || die "BOOTSTRAP_BUNDLE_SHA256 must be 64 lowercase hex digits"
if [ "$SHA256" = "$PIN_SHA256" ] && [[ $PIN_SHA256 =~ ^0+$ ]]; then
    die "this startup.sh carries no pinned bundle yet: set BOOTSTRAP_BUNDLE_URL and BOOTSTRAP_BUNDLE_SHA256"
fi
OPT=$ROOT/opt/bootstrap/$SHA256
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bootstrap-startup.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

if [ -x "$OPT/bin/bootstrap" ] && [ -f "$OPT/.verified" ]; then
    say "bundle ${SHA256:0:12} already installed in $OPT"
else
    say "downloading $URL"
    ok=0
    for attempt in 1 2 3 4 5; do
        if command -v curl >/dev/null 2>&1; then
            curl -fsSL --connect-timeout 20 --max-time 600 -o "$TMP/bundle.tar.gz" "$URL" && ok=1
        else
            wget -q -T 20 -O "$TMP/bundle.tar.gz" "$URL" && ok=1
        fi
        [ "$ok" = 1 ] && break
        say "download attempt $attempt failed; retrying in $((attempt * 5)) s"
        sleep $((attempt * 5))
    done
    [ "$ok" = 1 ] || die "cannot download $URL"
    got=$(sha256sum "$TMP/bundle.tar.gz" | cut -d' ' -f1)
    [ "$got" = "$SHA256" ] || die "the bundle's sha256 is $got, the pin is $SHA256: not installing it"
    mkdir -p "$TMP/x"
    tar -xzf "$TMP/bundle.tar.gz" -C "$TMP/x" --no-same-owner
    for f in bin/bootstrap share/bootstrap/launchable.json share/bootstrap/bootstrap.service; do
        [ -f "$TMP/x/$f" ] || die "the bundle lacks $f"
    done
    chmod 0755 "$TMP/x/bin/bootstrap"
    "$TMP/x/bin/bootstrap" --version >/dev/null 2>&1 || die "the bundled bootstrap does not run on this machine"
    : >"$TMP/x/.verified"
    as_root mkdir -p "$(dirname "$OPT")"
    as_root rm -rf "$OPT.new"
    as_root cp -a "$TMP/x" "$OPT.new"
    as_root rm -rf "$OPT"
    as_root mv "$OPT.new" "$OPT"
    say "installed bundle ${SHA256:0:12} in $OPT"
fi

# ---- 2. stable names -----------------------------------------------------------------------
as_root mkdir -p "$ROOT/usr/local/bin" "$ROOT/usr/local/share/doc"
as_root ln -sfn "$OPT/bin/bootstrap" "$ROOT/usr/local/bin/bootstrap"
as_root ln -sfn "$OPT/share/bootstrap" "$ROOT/usr/local/share/bootstrap"
if [ -d "$OPT/share/doc/bootstrap" ]; then
    as_root ln -sfn "$OPT/share/doc/bootstrap" "$ROOT/usr/local/share/doc/bootstrap"
fi
BIN=/usr/local/bin/bootstrap
CONFIG=/usr/local/share/bootstrap/launchable.json
VERSION=$("$OPT/bin/bootstrap" --version 2>/dev/null | head -n1 || true)
say "bootstrap: ${VERSION:-installed} at $BIN"

# ---- 3. the token (launch parameter HF_TOKEN) ---------------------------------------------
# As the training user: the token goes to that user's Hugging Face folder, file mode 0600.
as_user() {
    if [ "$(id -un)" = "$RUN_USER" ]; then env HOME="$RUN_HOME" "$@"
    else sudo -n -u "$RUN_USER" env HOME="$RUN_HOME" "$@"; fi
}
# token: none (no launch parameter), stored (checked and saved), kept (the Hub could not be
# asked: saved unchecked, the service checks it), refused (the Hub rejected it)
token=none
if [ -n "${HF_TOKEN:-}" ]; then
    rc=0
    printf '%s' "$HF_TOKEN" | as_user "$OPT/bin/bootstrap" login --token-stdin >"$TMP/login.out" 2>&1 || rc=$?
    if [ "$rc" = 0 ]; then
        token=stored
        say "the HF_TOKEN launch parameter is stored for $RUN_USER"
    elif [ "$rc" = 4 ]; then
        token=refused
        say "the HF_TOKEN launch parameter was refused by Hugging Face (invalid or revoked):"
        sed 's/^/    /' "$TMP/login.out" | tail -n 3
    else
        # a network failure at boot must not lose the token: keep it where huggingface_hub
        # keeps one (mode 0600, the user's own); the service checks it when it runs
        d=$RUN_HOME/.cache/huggingface
        # shellcheck disable=SC2016  # $1 is the inner shell's argument
        if printf '%s' "$HF_TOKEN" | as_user sh -c 'umask 077 && mkdir -p "$1" && cat >"$1/token.tmp" && mv -f "$1/token.tmp" "$1/token"' sh "$d"; then
            token=kept
            say "Hugging Face could not be reached to check the HF_TOKEN launch parameter (bootstrap login exit $rc); it is kept for $RUN_USER in $d/token (mode 0600) and checked when the service runs"
        else
            say "the HF_TOKEN launch parameter could not be checked (exit $rc) nor kept in $d/token"
        fi
    fi
fi
unset HF_TOKEN

# ---- 4. the boot service ------------------------------------------------------------------
UNIT_DIR=$ROOT/etc/systemd/system
sed -e "s|@USER@|$RUN_USER|g" -e "s|@HOME@|$RUN_HOME|g" -e "s|@STATE_DIR@|$STATE_DIR|g" \
    -e "s|@BIN@|$BIN|g" -e "s|@CONFIG@|$CONFIG|g" \
    "$OPT/share/bootstrap/bootstrap.service" >"$TMP/bootstrap.service"
if grep -q '@[A-Z_]*@' "$TMP/bootstrap.service"; then
    die "the unit template has unknown placeholders: $(grep -o '@[A-Z_]*@' "$TMP/bootstrap.service" | sort -u | tr '\n' ' ')"
fi
as_root mkdir -p "$UNIT_DIR"
as_root install -m 0644 "$TMP/bootstrap.service" "$UNIT_DIR/bootstrap.service"
as_root "$SYSTEMCTL" daemon-reload
as_root "$SYSTEMCTL" enable bootstrap.service
# --no-block: start it and return; the training runs for hours.
as_root "$SYSTEMCTL" start --no-block bootstrap.service
say "bootstrap.service is enabled and starting (it resumes at every boot until the fine-tune is done)"

banner "bootstrap: what to do now"
cat <<EOF
The instance is preparing the Finnish fine-tune of fishaudio/openaudio-s1-mini in the
background. Connect with 'brev shell <instance>' and:

  Watch the progress:
    bootstrap status                      phase, progress, last error, next step
    journalctl -u bootstrap -f            the service's output (training included)
    tail -f $STATE_DIR/bootstrap.log

EOF
if [ "$token" = kept ]; then
    cat <<EOF
  The HF_TOKEN launch parameter is kept but not yet checked (Hugging Face was not reachable);
  the service checks it. If 'bootstrap status' then says it is invalid: bootstrap login --force

EOF
elif [ "$token" = none ] || [ "$token" = refused ]; then
    why="no HF_TOKEN launch parameter was given"
    [ "$token" = none ] || why="the HF_TOKEN launch parameter was refused"
    cat <<EOF
  Log in to Hugging Face (the model is gated; $why):
    1. accept the licence at https://huggingface.co/fishaudio/openaudio-s1-mini
    2. bootstrap login                    (a read token: https://huggingface.co/settings/tokens)
    3. sudo systemctl restart bootstrap

EOF
fi
cat <<EOF
  The service stops retrying when you must act (login, licence, hardware); 'bootstrap
  status' then prints the exact next step. Network failures are retried by itself.
EOF
exit 0
