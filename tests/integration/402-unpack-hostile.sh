#!/bin/bash
# 402-unpack-hostile: each archive of the hostile corpus (traversal, absolute names, symlink
# and hard-link escapes, devices, FIFOs, setuid/setgid/sticky, bombs, long names, duplicates,
# truncated and corrupt streams, garbage, caps) is refused with the expected exit status and
# a message naming the reason, and a listing of the whole test tree is the same before and
# after: nothing written outside DEST, DEST not created, no staging folder left.
# tags: unpack
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd zstd xz bzip2
umask 022
CORPUS=$REPO_ROOT/tests/archive_corpus.py
W=$T/w            # the corpus aims every escape (.., absolute paths) inside $W
mkdir -p "$W"
"$PYTHON" "$CORPUS" hostile "$W" >"$T/manifest.tsv"
[ "$(wc -l <"$T/manifest.tsv")" -ge 40 ] || fail "corpus too small"

n=0
while IFS=$'\t' read -r name code msg opts; do
    n=$((n + 1))
    "$PYTHON" "$CORPUS" listing "$W" >"$T/before"
    # shellcheck disable=SC2086 # opts holds zero or more options
    run_bs -- unpack $opts "$W/hostile/$name" "$W/dest"
    "$PYTHON" "$CORPUS" listing "$W" >"$T/after"
    [ "$RC" = "$code" ] || { _show_run; fail "$name: exit $RC, want $code"; }
    grep -qF -- "$msg" "$T/err" || { _show_run; fail "$name: message lacks '$msg'"; }
    grep -q "^error: cannot unpack '$W/hostile/$name'" "$T/err" || fail "$name: no error line"
    diff "$T/before" "$T/after" >&2 || fail "$name: the tree changed"
    [ ! -e "$W/dest" ] || fail "$name: dest created"
    echo "ok $name: $(grep '^error:' "$T/err" | cut -c1-160)"
done <"$T/manifest.tsv"

# Bombs are stopped early: a few MiB written, not the 1 GiB / 256 MiB they hold.
for bomb in bomb.tar.zst bomb.zip; do
    run_bs -- unpack "$W/hostile/$bomb" "$W/dest"
    assert_rc 11
    out=$(sed -n 's/.*(\([0-9]*\) bytes out of.*/\1/p' "$T/err")
    if [ -z "$out" ] || [ "$out" -ge $((64 << 20)) ]; then
        fail "$bomb: refused after '$out' bytes"
    fi
    echo "$bomb refused after $out bytes"
done

# --json reports the refusal too.
run_bs -- unpack --json "$W/hostile/dotdot.tar" "$W/dest"
assert_rc 11
"$PYTHON" - "$T/out" <<'PY' || fail "bad --json on refusal"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] is False and o["exit_code"] == 11 and "'..'" in o["error"], o
PY
echo "$n hostile archives refused"
