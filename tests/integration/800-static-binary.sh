#!/bin/bash
# tags: static
# The static release binary (make static) is really static and self-contained:
# `file` says statically linked, ldd finds no dynamic section, no ELF interpreter,
# it is at most 8 MiB, and --version works with an empty environment.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$PWD/build/static/bootstrap
if [ "${VALGRIND:-0}" = 1 ]; then   # make valgrind checks $BOOTSTRAP, not the static binary
    echo "SKIP: not under valgrind: this tests build/static/bootstrap, not \$BOOTSTRAP"
    exit 77
fi
MAX_BYTES=$((8 * 1024 * 1024))

if [ ! -x "$BIN" ]; then
    echo "SKIP: $BIN missing (run 'make static')"
    exit 77
fi
fail=0
ok() { echo "ok   $*"; }
bad() {
    echo "FAIL $*"
    fail=1
}

desc=$(file -b "$BIN")
echo "file: $desc"
case $desc in
*"statically linked"*) ok "file says statically linked" ;;
*) bad "file does not say statically linked" ;;
esac
case $desc in
*"dynamically linked"* | *"static-pie"*) bad "file says dynamic or static-pie" ;;
esac

ldd_out=$(ldd "$BIN" 2>&1 || true)
echo "ldd: $ldd_out"
case $ldd_out in
*"not a dynamic executable"*) ok "ldd: not a dynamic executable" ;;
*) bad "ldd lists a dynamic executable" ;;
esac

if readelf -lW "$BIN" | grep -q 'INTERP'; then
    bad "ELF has a PT_INTERP program header"
else
    ok "no ELF interpreter"
fi
if readelf -dW "$BIN" 2>/dev/null | grep -q 'NEEDED'; then
    bad "ELF has DT_NEEDED entries"
else
    ok "no DT_NEEDED"
fi

size=$(stat -c %s "$BIN")
if [ "$size" -le "$MAX_BYTES" ]; then
    ok "size $size bytes <= $MAX_BYTES"
else
    bad "size $size bytes > $MAX_BYTES"
fi

# no path of the build machine may be left in the binary (reproducibility)
for p in "$PWD" "${BOOTSTRAP_DEPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bootstrap-static}"; do
    if grep -qaF "$p" "$BIN"; then
        bad "binary contains the build path '$p'"
    else
        ok "binary does not contain '$p'"
    fi
done

set +e
out=$(cd / && env -i "$BIN" --version 2>&1)
rc=$?
set -e
printf "%s\n" "$out" | sed -e "s/^/    | /"
if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | head -1 | grep -q '^bootstrap '; then
    ok "env -i bootstrap --version"
else
    bad "env -i bootstrap --version: rc=$rc"
fi
if printf '%s\n' "$out" | grep -qi 'static'; then
    ok "--version reports the static build"
else
    bad "--version does not mention the static build"
fi

exit "$fail"
