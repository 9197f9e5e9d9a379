#!/bin/bash
# bench/setup-tools.sh - the peers and tools of bench/wan.sh, bench/many.sh and bench/firstboot.sh
# that Debian does not package, installed at run time from their registries at pinned versions
# (nothing third-party is committed):
#   * toxiproxy-server (latency between the client and the CDN), `go install` from the Go module
#     proxy -> build/gobin/toxiproxy-server
#   * huggingface_hub (snapshot_download, the real client) and hf_transfer (its Rust downloader),
#     from PyPI into the venv build/bench-venv
# Debian packages (nginx-light, aria2, gnuplot-nox, iptables): scripts/install-deps.sh --bench.
# Does nothing when all is there. Prints nothing on success unless it installed something.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)

TOXIPROXY_VERSION=v2.12.0   # github.com/Shopify/toxiproxy/v2, served by proxy.golang.org
HF_HUB_VERSION=1.28.0       # the huggingface_hub the issue compares with (HTTP path, no Xet)
HF_TRANSFER_VERSION=0.1.9

GOBIN_DIR=${BENCH_GOBIN:-$REPO_ROOT/build/gobin}
VENV=${BENCH_VENV:-$REPO_ROOT/build/bench-venv}

if [ ! -x "$GOBIN_DIR/toxiproxy-server" ] ||
    ! go version -m "$GOBIN_DIR/toxiproxy-server" 2>/dev/null | grep -q "toxiproxy/v2[[:space:]]*$TOXIPROXY_VERSION"; then
    command -v go >/dev/null || { echo "setup-tools: 'go' is missing (needed for toxiproxy)" >&2; exit 1; }
    echo "setup-tools: go install toxiproxy $TOXIPROXY_VERSION" >&2
    mkdir -p "$GOBIN_DIR"
    # the v2 module's server command is cmd/server; installed under its usual name
    (cd / && GOBIN=$GOBIN_DIR GOFLAGS=-mod=mod go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION")
    mv -f "$GOBIN_DIR/server" "$GOBIN_DIR/toxiproxy-server"
fi

if ! "$VENV/bin/python" - "$HF_HUB_VERSION" "$HF_TRANSFER_VERSION" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
ok = version("huggingface_hub") == sys.argv[1] and version("hf_transfer") == sys.argv[2]
sys.exit(0 if ok else 1)
PY
then
    echo "setup-tools: venv $VENV with huggingface_hub==$HF_HUB_VERSION hf_transfer==$HF_TRANSFER_VERSION" >&2
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "huggingface_hub==$HF_HUB_VERSION" "hf_transfer==$HF_TRANSFER_VERSION"
fi
