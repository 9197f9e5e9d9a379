#!/bin/bash
# tags: static root
# The static binary works in an empty chroot (no /lib, /dev, /proc, shell or nsswitch.conf):
# --version, detect against a fixture tree, and a TLS download from the mock Hub by a name
# that only /etc/hosts knows. All the work is in scripts/chroot-test.sh.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BIN=$PWD/build/static/bootstrap
if [ "${VALGRIND:-0}" = 1 ]; then   # make valgrind checks $BOOTSTRAP, not the static binary
    echo "SKIP: not under valgrind: this tests build/static/bootstrap, not \$BOOTSTRAP"
    exit 77
fi

if [ ! -x "$BIN" ]; then
    echo "SKIP: $BIN missing (run 'make static')"
    exit 77
fi
exec scripts/chroot-test.sh "$BIN"
