#!/bin/bash
# 403-unpack-interrupt: SIGINT and SIGTERM stop an unpack with 130/143 and leave nothing
# behind; SIGKILL leaves a staging folder that the next run removes before it unpacks the
# exact tree. DEST never holds half a tree.
# tags: unpack
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
umask 022
CORPUS=$REPO_ROOT/tests/archive_corpus.py
N=20000
W=$T/w
mkdir -p "$W"
"$PYTHON" "$CORPUS" many "$W" "$N"
ARCHIVE=$W/many.tar.gz

# start_unpack: run the binary in the background (same environment as run_bs); PID in $BG.
start_unpack() {
    mkdir -p "$T/tmp"   # valgrind needs TMPDIR to exist
    env -i PATH="$PATH" HOME="$T/home" TMPDIR="$T/tmp" LANG=C.UTF-8 \
        ${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} \
        "${BS_EXEC[@]}" unpack "$ARCHIVE" "$W/dest" >"$T/bg.out" 2>"$T/bg.err" &
    BG=$!
}

# wait_staging: until the staging folder holds some files (up to 60 s).
wait_staging() {
    local i
    for i in $(seq 1 6000); do
        if compgen -G "$W/dest.unpack-*/d0[0-9]/f*" >/dev/null; then
            return 0
        fi
        kill -0 "$BG" 2>/dev/null || fail "unpack ended before it could be interrupted"
        sleep 0.01
    done
    fail "no staging folder appeared"
}

for sig in INT TERM; do
    want=$([ $sig = INT ] && echo 130 || echo 143)
    start_unpack
    wait_staging
    kill -s "$sig" "$BG"
    rc=0
    wait "$BG" || rc=$?
    [ "$rc" = "$want" ] || { cat "$T/bg.err" >&2; fail "SIG$sig: exit $rc, want $want"; }
    compgen -G "$W/dest.unpack-*" >/dev/null && fail "SIG$sig: staging folder left"
    [ ! -e "$W/dest" ] || fail "SIG$sig: dest created"
    grep -q "interrupted" "$T/bg.err" || fail "SIG$sig: no message"
    echo "ok SIG$sig -> $rc, nothing left"
done

# SIGKILL: no chance to clean up; the staging folder stays, dest does not appear.
start_unpack
wait_staging
kill -s KILL "$BG"
wait "$BG" || true
compgen -G "$W/dest.unpack-*" >/dev/null || fail "SIGKILL: expected a leftover staging folder"
[ ! -e "$W/dest" ] || fail "SIGKILL: dest created"
run_bs -- unpack "$ARCHIVE" "$W/dest"
assert_rc 0
compgen -G "$W/dest.unpack-*" >/dev/null && fail "leftover staging folder not removed"
"$PYTHON" "$CORPUS" check-many "$W/dest" "$N" || fail "tree after re-run differs"
echo "ok SIGKILL, then a re-run made the exact tree"
