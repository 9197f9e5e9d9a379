#!/bin/bash
# 308-download-url: `bootstrap download --url` (dl_url: one plain file with a pinned sha256).
#   - a server without Range support (Python's http.server answers 200 to everything):
#     size from the HEAD, the ranged request is refused, the file restarts in one piece,
#     is verified and lands at --output; no partial is left;
#   - a second call finds the verified file and makes no request;
#   - a wrong sha256: three downloads, then exit 8, and nothing at --output;
#   - 404: exit 6;
#   - the mock CDN (ranges) with --size: fetched in ranges; SIGKILL mid-way and the next
#     call resumes from the record (little is fetched twice).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd curl sha256sum

# -- a plain server without ranges ----------------------------------------------------------
mkdir -p "$T/www"
head -c $((12 * 1024 * 1024)) /dev/urandom >"$T/www/data.bin"
SHA=$(sha256sum "$T/www/data.bin" | cut -d' ' -f1)
cat >"$T/server.py" <<'EOF'
import functools, http.server, sys
root, port_file, log_file = sys.argv[1:4]
log = open(log_file, "a", buffering=1)
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, fmt, *args):
        log.write("%s %s %s\n" % (self.command, self.path, self.headers.get("Range")))
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(H, directory=root))
open(port_file + ".tmp", "w").write(str(srv.server_address[1]))
import os; os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
EOF
"$PYTHON" "$T/server.py" "$T/www" "$T/port" "$T/www.log" 2>/dev/null &
SRV=$!
at_exit "kill $SRV"
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(cat "$T/port")/data.bin

run_bs -- download --url "$URL" --sha256 "$SHA" --output "$T/dl/data.bin"
assert_rc 0
assert_file_sha256 "$T/dl/data.bin" "$SHA"
assert_eq "$(find "$T/dl" -name '*.bspart*' | wc -l)" 0 "leftover partials"
grep -q '^HEAD /data.bin' "$T/www.log" || fail "no HEAD for the size"
grep -q '^GET /data.bin None' "$T/www.log" || fail "no restart without Range"

: >"$T/www.log"
run_bs -- download --url "$URL" --sha256 "$SHA" --output "$T/dl/data.bin"
assert_rc 0
assert_eq "$(wc -l <"$T/www.log")" 0 "requests for a file already in place"

run_bs -- download --url "$URL" --sha256 "$(printf '%064d' 0)" --output "$T/dl/bad.bin"
assert_rc 8
assert_contains "$T/err" "sha256"
[ ! -e "$T/dl/bad.bin" ] || fail "an unverified file was placed"
assert_eq "$(find "$T/dl" -name 'bad.bin*' | wc -l)" 0 "leftovers of a failed download"

run_bs -- download --url "${URL%/data.bin}/missing.bin" --sha256 "$SHA" --output "$T/dl/m.bin"
assert_rc 6

run_bs -- download --url "$URL" --sha256 "$SHA"
assert_rc 2
run_bs -- download --url "ftp://example/x" --sha256 "$SHA" --output "$T/dl/x"
assert_rc 2

# -- the mock CDN: ranges, and resume after SIGKILL --------------------------------------------
MOCK_MODEL_SIZE=40M MOCK_CODEC_SIZE=1M mock_start
REPO=fishaudio/openaudio-s1-mini
CDN_URL=$(curl -sS -o /dev/null -w '%{redirect_url}' -I -H "Authorization: Bearer $TOKEN_OK" \
    "$MOCK_HUB_URL/$REPO/resolve/main/model.pth")
case $CDN_URL in "$MOCK_CDN_URL"/*) ;; *) fail "no CDN URL from the mock: '$CDN_URL'" ;; esac
MSHA=$(expected_sha256 "$REPO" model.pth)
MSIZE=$(expected_size "$REPO" model.pth)
mock_ctl reset >/dev/null
mock_ctl set '{"cdn_rate_bps": 300000}' >/dev/null   # 32 connections x 2 MiB pieces: ~7 s
mkdir -p "$T/home" "$T/tmp"
env -i PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf" TMPDIR="$T/tmp" ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
    "${BS_EXEC[@]}" download --url "$CDN_URL" --sha256 "$MSHA" --size "$MSIZE" --output "$T/dl/model.pth" \
    >/dev/null 2>"$T/bg.err" &
bg=$!
if under_valgrind; then   # valgrind takes seconds to start: the 2.5 s count from the first record
    for _ in $(seq 1200); do [ -f "$T/dl/model.pth.bspart.json" ] && break; sleep 0.05; done
fi
sleep 2.5
kill -KILL "$bg"
wait "$bg" 2>/dev/null || true
sleep 0.3
[ -f "$T/dl/model.pth.bspart.json" ] || fail "no resume record for the URL download"
[ ! -e "$T/dl/model.pth" ] || fail "the file is in place before it was complete"
b1=$(mock_stats | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["bytes"].get("cdn", 0))')
mock_ctl set '{"cdn_rate_bps": 0}' >/dev/null
mock_ctl reset-stats >/dev/null
run_bs -- download --url "$CDN_URL" --sha256 "$MSHA" --size "$MSIZE" --output "$T/dl/model.pth"
assert_rc 0
assert_file_sha256 "$T/dl/model.pth" "$MSHA"
b2=$(mock_stats | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["bytes"].get("cdn", 0))')
echo "URL download: $b1 bytes before the kill, $b2 after"
if [ "$b1" -le 0 ] || [ "$b2" -ge "$MSIZE" ]; then fail "the resume fetched $b2 of $MSIZE bytes"; fi
[ $((b1 + b2 - MSIZE)) -le $((8 * 1024 * 1024)) ] || fail "$((b1 + b2 - MSIZE)) bytes fetched twice"
[ "$(mock_log_count --origin cdn --method GET --status 206)" -ge 1 ] || fail "no ranged requests"
assert_eq "$(mock_log_count --auth yes)" 0 "Authorization sent with --url"
echo "ok"
