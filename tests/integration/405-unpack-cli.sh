#!/bin/bash
# 405-unpack-cli: options, usage errors and DEST rules of 'bootstrap unpack': a DEST that
# is not ours is refused (exit 2, says what to do), --force keeps it as DEST.old-<time>,
# an empty DEST is fine, a missing archive is exit 6, --json fields, caps with suffixes.
# tags: unpack
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
umask 022
W=$T/w
mkdir -p "$W/src/sub"
printf 'hello\n' >"$W/src/a.txt"
printf 'inner\n' >"$W/src/sub/b.txt"
tar -C "$W/src" -czf "$W/a.tar.gz" .

run_bs -- unpack --help
assert_rc 0
assert_contains "$T/out" "SYNOPSIS"
assert_contains "$T/out" "--max-ratio"
run_bs -- help unpack
assert_rc 0
assert_contains "$T/out" "bootstrap unpack"

run_bs -- unpack
assert_rc 2
assert_contains "$T/err" "expected ARCHIVE and DEST"
run_bs -- unpack "$W/a.tar.gz"
assert_rc 2
run_bs -- unpack --max-bytes lots "$W/a.tar.gz" "$W/d"
assert_rc 2
assert_contains "$T/err" "bad --max-bytes 'lots'"
run_bs -- unpack --max-path 5000 "$W/a.tar.gz" "$W/d"
assert_rc 2
run_bs -- unpack --bogus "$W/a.tar.gz" "$W/d"
assert_rc 2
assert_contains "$T/err" "unknown option '--bogus'"
run_bs -- unpack --max-ratio "$W/a.tar.gz"
assert_rc 2
[ ! -e "$W/d" ] || fail "a usage error created DEST"

run_bs -- unpack "$W/missing.tar.gz" "$W/d"
assert_rc 6
assert_contains "$T/err" "does not exist"
run_bs -- unpack "$W/src" "$W/d"
assert_rc 2
assert_contains "$T/err" "not a regular file"

# Every cap with a suffix (K = 1024); the archive holds 12 bytes in 4 entries.
run_bs -- unpack --max-bytes 1K --max-entry-bytes 1k --max-entries 10 --max-ratio 0 \
    --max-path 64 "$W/a.tar.gz" "$W/d"
assert_rc 0
cmp "$W/src/sub/b.txt" "$W/d/sub/b.txt" || fail "content differs"
rm -rf "$W/d"

# An empty DEST is replaced; a DEST with our marker for this archive is skipped.
mkdir "$W/d"
run_bs -- unpack "$W/a.tar.gz" "$W/d"
assert_rc 0
[ -f "$W/d/a.txt" ] || fail "empty DEST not used"

# A DEST that is not ours: refused with advice, left alone.
mkdir -p "$W/mine"
printf 'precious\n' >"$W/mine/notes.txt"
run_bs -- unpack "$W/a.tar.gz" "$W/mine"
assert_rc 2
assert_contains "$T/err" "exists and was not made by bootstrap unpack"
assert_contains "$T/err" "hint: remove it or pick another folder"
[ "$(ls -A "$W/mine")" = notes.txt ] || fail "DEST touched"

# --force: the new tree takes its place once complete, the old one is kept and named.
run_bs -- unpack --force --json "$W/a.tar.gz" "$W/mine"
assert_rc 0
old=$(compgen -G "$W/mine.old-*") || fail "old DEST not kept"
cmp -s "$old/notes.txt" <(printf 'precious\n') || fail "old DEST content lost"
[ -f "$W/mine/a.txt" ] || fail "new tree not in place"
assert_contains "$T/err" "is kept as '$old'"
"$PYTHON" - "$T/out" "$old" <<'PY' || fail "bad --json"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] and o["moved_aside"] == sys.argv[2] and o["entries"] == 4, o
assert len(o["archive_sha256"]) == 64 and o["error"] is None, o
PY

# Trailing slashes on DEST are fine; the staging folder is a sibling, not a child.
run_bs -- unpack "$W/a.tar.gz" "$W/slash/"
assert_rc 0
[ -f "$W/slash/a.txt" ] || fail "DEST with trailing slash"
compgen -G "$W/slash.unpack-*" >/dev/null && fail "staging folder left"
echo "ok"
