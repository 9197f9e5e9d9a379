#!/bin/bash
# 401-unpack-good: every supported format unpacks byte-identically to its source tree
# (content, permission bits after the umask, symlinks, hard links, mtimes), the format is
# taken from the content (a zip named .tar.gz, a tar.xz named .zip), and a second run
# for the same archive is skipped by the marker.
# tags: unpack
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd zstd xz bzip2
umask 022
CORPUS=$REPO_ROOT/tests/archive_corpus.py
W=$T/w
mkdir -p "$W"
"$PYTHON" "$CORPUS" good "$W" >"$T/good.list"
[ "$(wc -l <"$T/good.list")" -ge 20 ] || fail "corpus too small"

# The comparator must notice a difference, or every check below is empty.
cp -a "$W/src" "$W/tampered"
printf 'x' >>"$W/tampered/README.txt"
if "$PYTHON" "$CORPUS" compare "$W/src" "$W/tampered" hts 2>/dev/null; then
    fail "compare did not notice a changed file"
fi
rm -rf "$W/tampered"

n=0
while read -r name flags; do
    n=$((n + 1))
    dest=$W/out/$n
    run_bs -- unpack --json "$W/good/$name" "$dest"
    assert_rc 0
    "$PYTHON" "$CORPUS" compare "$W/src" "$dest" "$flags" || fail "$name: tree differs"
    [ -f "$dest/.bootstrap-unpacked" ] || fail "$name: no marker"
    "$PYTHON" - "$T/out" "$dest/.bootstrap-unpacked" "$W/good/$name" <<'PY' || fail "$name: bad JSON"
import hashlib, json, sys
out = json.load(open(sys.argv[1]))
marker = json.load(open(sys.argv[2]))
sha = hashlib.sha256(open(sys.argv[3], "rb").read()).hexdigest()
assert out["ok"] is True and out["skipped"] is False and out["exit_code"] == 0, out
assert out["archive_sha256"] == sha == marker["archive_sha256"], (out, marker)
assert out["entries"] == marker["entries"] and out["bytes"] == marker["bytes"], (out, marker)
assert marker["version"] == 1 and marker["tool"].startswith("bootstrap "), marker
PY
    # Second run: skipped, nothing changes.
    "$PYTHON" "$CORPUS" listing "$W/out" >"$T/before"
    run_bs -- unpack --json "$W/good/$name" "$dest"
    assert_rc 0
    grep -q '"skipped":true' "$T/out" || fail "$name: second run not skipped"
    assert_contains "$T/err" "nothing to do"
    "$PYTHON" "$CORPUS" listing "$W/out" >"$T/after"
    cmp -s "$T/before" "$T/after" || fail "$name: second run changed the tree"
    compgen -G "$W/out/$n.unpack-*" >/dev/null && fail "$name: staging folder left"
    echo "ok $name"
done <"$T/good.list"
echo "$n archives unpacked and compared"
