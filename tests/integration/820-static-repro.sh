#!/bin/bash
# tags: static slow
# The static build is reproducible: the same sources built in two different directories
# (different depth, so -ffile-prefix-map is exercised) give the same sha256, and neither
# binary contains its build path. Uses the dependency cache; skips when it is cold, because
# a cold build takes minutes (docs/static-build.md measures the cold case).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
if [ "${VALGRIND:-0}" = 1 ]; then   # make valgrind checks $BOOTSTRAP, not the static binary
    echo "SKIP: not under valgrind: this tests build/static/bootstrap, not \$BOOTSTRAP"
    exit 77
fi

if [ ! -x build/static/bootstrap ]; then
    echo "SKIP: build/static/bootstrap missing (run 'make static')"
    exit 77
fi
if ! scripts/static-build.sh --check-cache >/dev/null 2>&1; then
    echo "SKIP: the static dependency cache is cold (run 'make static' first)"
    exit 77
fi

T=$(mktemp -d /tmp/bootstrap-repro.XXXXXX)
trap 'rm -rf "$T"' EXIT

copy_tree() { # copy the work tree (tracked + untracked, not ignored) to $1
    mkdir -p "$1"
    if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$REPO" ls-files -co --exclude-standard -z |
            (cd "$REPO" && xargs -0 cp --parents -P -t "$1")
    else
        tar -C "$REPO" --exclude=./build --exclude=./dist -cf - . | tar -C "$1" -xf -
    fi
    rm -rf "$1/build" "$1/dist"
}

A=$T/a
B=$T/b/a/much/longer/path
copy_tree "$A"
copy_tree "$B"
for d in "$A" "$B"; do
    (cd "$d" && BOOTSTRAP_VERSION=repro-test SOURCE_DATE_EPOCH=1700000000 \
        scripts/static-build.sh >"$d.log" 2>&1) || {
        tail -n 30 "$d.log"
        echo "FAIL static build in $d"
        exit 1
    }
done
sa=$(sha256sum <"$A/build/static/bootstrap" | cut -d' ' -f1)
sb=$(sha256sum <"$B/build/static/bootstrap" | cut -d' ' -f1)
echo "build 1: $sa"
echo "build 2: $sb"
fail=0
if [ "$sa" = "$sb" ]; then
    echo "ok   bit-identical"
else
    echo "FAIL the two builds differ"
    cmp -l "$A/build/static/bootstrap" "$B/build/static/bootstrap" | head -5 || true
    fail=1
fi
for d in "$A" "$B"; do
    if grep -qaF "$T" "$d/build/static/bootstrap"; then
        echo "FAIL binary built in $d contains its build path"
        fail=1
    fi
done
[ "$fail" -eq 0 ] && echo "ok   no build path in either binary"
exit "$fail"
