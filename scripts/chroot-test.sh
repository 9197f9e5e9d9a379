#!/bin/bash
# scripts/chroot-test.sh BIN - run a static bootstrap binary inside an empty chroot.
#
# The chroot holds only the binary, /etc/hosts (hub.test -> 127.0.0.1), /etc/resolv.conf,
# the mock Hub's CA file, an empty /tmp and the output folders: no /lib, /dev, /proc, shell,
# nsswitch.conf or CA package. Inside it runs:
#   1. bootstrap --version
#   2. bootstrap detect --root /fixture --allow-no-gpu --json   (a copy of tests/fixtures/gpu/h200-ubuntu24.04,
#      or of $CHROOT_TEST_FIXTURE)
#   3. bootstrap download REPO --local-dir DIR --token-stdin over HTTPS from the mock Hub,
#      reached as https://hub.test:PORT (a name only /etc/hosts knows), with the CA found
#      (a) in the Debian system path, (b) through --ca-bundle, (c) through SSL_CERT_FILE;
#      then (d) without any CA and (e) with the wrong CA, which must both fail closed;
#      before that, the smaller "whoami --check-access" with and without a CA.
#   4. env -i BIN --version on the host.
# Parts whose fixture is missing, or whose command the binary does not implement yet, are
# reported as SKIP. Exit status: 0 all run checks passed, 1 a check failed, 2 usage,
# 77 chroot is not possible here (not root, or chroot(2) not permitted).
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
    echo "usage: scripts/chroot-test.sh PATH/TO/STATIC/bootstrap" >&2
    exit 2
fi
BIN=$(readlink -f "$1")
FIXTURE=${CHROOT_TEST_FIXTURE:-$REPO/tests/fixtures/gpu/h200-ubuntu24.04} # a --root tree: proc/, sys/
MOCK=$REPO/tests/mock_hub/mock_hub.py
REPO_ID=fishaudio/openaudio-s1-mini
RUN_TIMEOUT=${CHROOT_TEST_TIMEOUT:-120}

skip_all() {
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" -eq 0 ] || skip_all "chroot needs root (run as root, e.g. in the CI container)"
CHROOT=$(command -v chroot || true)
[ -n "$CHROOT" ] || skip_all "no chroot command (coreutils)"

T=$(mktemp -d /tmp/bootstrap-chroot.XXXXXX)
MOCK_PID=
cleanup() {
    if [ -n "$MOCK_PID" ]; then
        kill "$MOCK_PID" 2>/dev/null
        wait "$MOCK_PID" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT

fails=0 passes=0 skips=0
ok() {
    passes=$((passes + 1))
    echo "ok    $*"
}
bad() {
    fails=$((fails + 1))
    echo "FAIL  $*"
}
skip() {
    skips=$((skips + 1))
    echo "SKIP  $*"
}
show() { # indent captured output
    sed -e 's/^/      | /' "$@"
}

# ------------------------------------------------------------------ the chroot
CR=$T/root
mkdir -p "$CR/etc" "$CR/tmp"
chmod 1777 "$CR/tmp"
cp "$BIN" "$CR/bootstrap"
printf '127.0.0.1\tlocalhost\n127.0.0.1\thub.test\n' >"$CR/etc/hosts"
# nothing listens on 127.0.0.1:53: any DNS query the binary makes fails fast
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$CR/etc/resolv.conf"

# in_chroot OUT ERR [ENV=VAL...] -- ARGS...: run /bootstrap ARGS in the chroot with only
# the given environment, stdin from $STDIN_TEXT when set; prints nothing, returns its status
in_chroot() {
    local out=$1 err=$2 envs=()
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        envs+=("$1")
        shift
    done
    shift
    if [ -n "${STDIN_TEXT:-}" ]; then
        printf '%s' "$STDIN_TEXT" | env -i "${envs[@]}" timeout "$RUN_TIMEOUT" \
            "$CHROOT" "$CR" /bootstrap "$@" >"$out" 2>"$err"
    else
        env -i "${envs[@]}" timeout "$RUN_TIMEOUT" "$CHROOT" "$CR" /bootstrap "$@" \
            >"$out" 2>"$err" </dev/null
    fi
}

not_implemented() { # the binary's placeholder answer for a command that has not landed
    grep -q 'is not available in this build yet' "$1"
}

# ------------------------------------------------------------------ 1. --version
in_chroot "$T/out" "$T/err" -- --version
rc=$?
if [ "$rc" -eq 125 ] && grep -qiE 'not permitted|permission denied' "$T/err"; then
    show "$T/err"
    skip_all "chroot(2) is not permitted here"
fi
echo "chroot contents: $(cd "$CR" && find . -mindepth 1 | sort | tr '\n' ' ')"
if [ "$rc" -eq 0 ] && head -1 "$T/out" | grep -q '^bootstrap '; then
    ok "chroot: bootstrap --version ($(head -1 "$T/out"))"
else
    bad "chroot: bootstrap --version rc=$rc"
    show "$T/out" "$T/err"
fi

# ------------------------------------------------------------------ 2. detect
if [ -d "$FIXTURE" ]; then
    cp -a "$FIXTURE" "$CR/fixture"
    # --min-disk-mib 0: the verdict must not depend on the free space of the machine running this
    in_chroot "$T/out" "$T/err" -- detect --root /fixture --allow-no-gpu --min-disk-mib 0 --json
    rc=$?
    if not_implemented "$T/err"; then
        skip "chroot: detect is not implemented in this binary yet"
    elif [ "$rc" -eq 0 ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out"; then
        ok "chroot: detect --root /fixture --allow-no-gpu --json gives JSON"
    else
        bad "chroot: detect --root /fixture --allow-no-gpu --json rc=$rc"
        show "$T/out" "$T/err"
    fi
    rm -rf "$CR/fixture"
else
    skip "chroot: detect (fixture ${FIXTURE#"$REPO"/} is missing)"
fi

# ------------------------------------------------------------------ 3. download over TLS
start_mock() {
    local i
    command -v python3 >/dev/null || return 1
    [ -f "$MOCK" ] || return 1
    python3 "$MOCK" --make-config fake-model "$T/mock.json" --model-size 1M \
        --codec-size 512K >"$T/mock-config.txt" || return 1
    # the CDN is reached by name too, so the redirect exercises the resolver once more
    python3 - "$T/mock.json" <<'EOF' || return 1
import json, sys
p = sys.argv[1]
cfg = json.load(open(p))
cfg["cdn_host"] = "hub.test"
json.dump(cfg, open(p, "w"), indent=1)
EOF
    python3 "$MOCK" --print-manifest --config "$T/mock.json" --data-dir "$T/mock-data" \
        >"$T/manifest.json" || return 1
    python3 "$MOCK" --config "$T/mock.json" --port-file "$T/ports.json" --tls-dir "$T/tls" \
        --log "$T/mock-requests.log" --data-dir "$T/mock-data" --wait-ready \
        >"$T/mock.out" 2>&1 &
    MOCK_PID=$!
    for i in $(seq 1 300); do
        if [ -s "$T/ports.json" ] && [ -s "$T/tls/ca.pem" ]; then
            return 0
        fi
        kill -0 "$MOCK_PID" 2>/dev/null || return 1
        sleep 0.1
        : "$i"
    done
    return 1
}

# check_files DIR: every file of REPO_ID's main branch is in DIR with the right sha256
check_files() {
    python3 - "$T/manifest.json" "$1" "$REPO_ID" <<'EOF'
import hashlib, json, os, sys
files = [f for f in json.load(open(sys.argv[1]))["files"]
         if f["repo"] == sys.argv[3] and f["rev"] == "main"]
bad = 0
for f in files:
    p = os.path.join(sys.argv[2], f["path"])
    try:
        h = hashlib.sha256(open(p, "rb").read()).hexdigest()
    except OSError as e:
        print(f"      missing {f['path']}: {e.strerror}")
        bad += 1
        continue
    if h != f["sha256"]:
        print(f"      wrong sha256 of {f['path']}")
        bad += 1
print(f"      {len(files) - bad}/{len(files)} files present with the right sha256")
sys.exit(1 if bad or not files else 0)
EOF
}

# has_model_files DIR: any payload file of the repo arrived (must not happen without trust)
has_model_files() {
    [ -e "$1/config.json" ] || [ -e "$1/model.pth" ] || [ -e "$1/codec.pth" ]
}

# download DIR [ENV=VAL...] -- [EXTRA ARGS...]
download() {
    local dir=$1
    shift
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        envs+=("$1")
        shift
    done
    shift
    mkdir -p "$CR$dir"
    STDIN_TEXT=$TOKEN in_chroot "$T/out" "$T/err" "HF_ENDPOINT=$ENDPOINT" HF_HOME=/hf \
        HOME=/tmp "${envs[@]}" -- download "$REPO_ID" --local-dir "$dir" --token-stdin "$@"
}

if ! start_mock; then
    skip "chroot: TLS download (the mock Hub tests/mock_hub/mock_hub.py could not start)"
    [ -f "$T/mock.out" ] && show "$T/mock.out"
else
    HUB_PORT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hub"])' "$T/ports.json")
    ENDPOINT=https://hub.test:$HUB_PORT
    TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["test_tokens"]["ok"])' "$T/mock.json")
    echo "mock Hub: $ENDPOINT (CA $T/tls/ca.pem)"

    # whoami: one small TLS request (token check + HEAD on the gated repo), CA in the
    # Debian system path, then without any CA (must fail closed)
    mkdir -p "$CR/etc/ssl/certs"
    cp "$T/tls/ca.pem" "$CR/etc/ssl/certs/ca-certificates.crt"
    STDIN_TEXT=$TOKEN in_chroot "$T/out" "$T/err" "HF_ENDPOINT=$ENDPOINT" HF_HOME=/hf \
        HOME=/tmp -- whoami --token-stdin --json --check-access "$REPO_ID"
    rc=$?
    if not_implemented "$T/err"; then
        skip "chroot: whoami is not implemented in this binary yet"
    else
        if [ "$rc" -eq 0 ] && grep -q alice "$T/out"; then
            ok "chroot: HTTPS whoami --check-access, CA from the system path"
        else
            bad "chroot: HTTPS whoami --check-access, CA from the system path rc=$rc"
            show "$T/out" "$T/err"
        fi
        mv "$CR/etc/ssl/certs/ca-certificates.crt" "$T/system-ca.crt"
        STDIN_TEXT=$TOKEN in_chroot "$T/out" "$T/err" "HF_ENDPOINT=$ENDPOINT" HF_HOME=/hf \
            HOME=/tmp -- whoami --token-stdin --json
        rc=$?
        if [ "$rc" -ne 0 ] && grep -qiE 'ca-certificates|--ca-bundle' "$T/err"; then
            ok "chroot: whoami without any CA fails closed (rc=$rc, names the fix)"
        else
            bad "chroot: whoami without any CA must fail with a hint (rc=$rc)"
            show "$T/out" "$T/err"
        fi
        mv "$T/system-ca.crt" "$CR/etc/ssl/certs/ca-certificates.crt"
    fi

    # (a) CA where Debian/Ubuntu keep it: found by the system search
    download /out-a --
    rc=$?
    if not_implemented "$T/err"; then
        skip "chroot: download is not implemented in this binary yet"
    else
        if [ "$rc" -eq 0 ] && check_files "$CR/out-a"; then
            ok "chroot: HTTPS download, CA from /etc/ssl/certs/ca-certificates.crt"
        else
            bad "chroot: HTTPS download, CA from the system path rc=$rc"
            show "$T/out" "$T/err"
        fi
        rm -rf "$CR/etc/ssl"

        # (b) --ca-bundle
        cp "$T/tls/ca.pem" "$CR/ca.pem"
        download /out-b -- --ca-bundle /ca.pem
        rc=$?
        if [ "$rc" -eq 0 ] && check_files "$CR/out-b"; then
            ok "chroot: HTTPS download, --ca-bundle /ca.pem"
        else
            bad "chroot: HTTPS download, --ca-bundle /ca.pem rc=$rc"
            show "$T/out" "$T/err"
        fi

        # (c) SSL_CERT_FILE
        download /out-c SSL_CERT_FILE=/ca.pem --
        rc=$?
        if [ "$rc" -eq 0 ] && check_files "$CR/out-c"; then
            ok "chroot: HTTPS download, SSL_CERT_FILE=/ca.pem"
        else
            bad "chroot: HTTPS download, SSL_CERT_FILE=/ca.pem rc=$rc"
            show "$T/out" "$T/err"
        fi
        rm -f "$CR/ca.pem"

        # (d) no CA anywhere: fail closed, say what to install, fetch nothing
        download /out-d --
        rc=$?
        if [ "$rc" -ne 0 ] && ! has_model_files "$CR/out-d" &&
            grep -qiE 'ca-certificates|--ca-bundle' "$T/err"; then
            ok "chroot: no CA anywhere fails closed (rc=$rc, names the fix)"
        else
            bad "chroot: no CA anywhere must fail with a hint (rc=$rc)"
            show "$T/out" "$T/err"
        fi

        # (e) the wrong CA: verification fails, nothing fetched
        cp "$T/tls/other-ca.pem" "$CR/wrong-ca.pem"
        download /out-e -- --ca-bundle /wrong-ca.pem
        rc=$?
        if [ "$rc" -ne 0 ] && ! has_model_files "$CR/out-e"; then
            ok "chroot: a certificate from the wrong CA is rejected (rc=$rc)"
        else
            bad "chroot: the wrong CA must be rejected (rc=$rc)"
            show "$T/out" "$T/err"
        fi
        rm -f "$CR/wrong-ca.pem"
    fi
fi

# ------------------------------------------------------------------ 4. host, empty env
if (cd / && env -i "$BIN" --version >"$T/out" 2>"$T/err"); then
    ok "host: env -i bootstrap --version"
else
    bad "host: env -i bootstrap --version"
    show "$T/out" "$T/err"
fi

echo "chroot test: $passes passed, $fails failed, $skips skipped"
[ "$fails" -eq 0 ]
