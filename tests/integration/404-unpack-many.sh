#!/bin/bash
# 404-unpack-many: 100 000 tiny entries unpack in seconds (the same order as GNU tar on
# the same disk), and --max-entries refuses them early: before writing anything for a
# plain tar (header pre-pass), at entry 50 001 for a tar.gz.
# tags: unpack slow
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
umask 022
CORPUS=$REPO_ROOT/tests/archive_corpus.py
N=100000
W=$T/w
mkdir -p "$W"
"$PYTHON" "$CORPUS" many "$W" "$N"

ms() { echo $(( $(date +%s%N) / 1000000 )); }

t0=$(ms)
run_bs -- unpack "$W/many.tar.gz" "$W/dest"
assert_rc 0
t1=$(ms)
echo "100000 entries (tar.gz): $((t1 - t0)) ms"
assert_contains "$T/err" "100000 entries"
"$PYTHON" "$CORPUS" check-many "$W/dest" "$N" || fail "tree differs"
rm -rf "$W/dest"

# Entry cap: the plain tar is refused by the pre-pass, nothing is written.
"$PYTHON" "$CORPUS" listing "$W" >"$T/before"
t0=$(ms)
run_bs -- unpack --max-entries 50000 "$W/many.tar" "$W/dest"
t1=$(ms)
assert_rc 11
assert_contains "$T/err" "more than 50000 entries"
assert_contains "$T/err" "--max-entries"
run_bs -- unpack --max-entries 50000 "$W/many.tar.gz" "$W/dest"
t2=$(ms)
assert_rc 11
assert_contains "$T/err" "more than 50000 entries"
"$PYTHON" "$CORPUS" listing "$W" >"$T/after"
cmp -s "$T/before" "$T/after" || fail "a refused archive changed the tree"
echo "refused: tar $((t1 - t0)) ms (pre-pass), tar.gz $((t2 - t1)) ms (incl. clean-up)"
