# shellcheck shell=bash
# tests/integration/fault-lib.sh - helpers of the reliability fault matrix (tests 900-949,
# docs/reliability.md "Fault matrix"), sourced after lib.sh.
#
# A matrix script is a list of cases. Each case is a shell function run in a subshell by
# run_case, so one failing case is reported and the next ones still run; the script fails
# at the end (fl_summary) when any case failed.
#
#   run_case NAME FUNCTION        run FUNCTION as case NAME: prints "case NAME: ok",
#                                 "case NAME: SKIP reason" or "case NAME: FAIL" (and why)
#   skip_case REASON              inside a case: skip it (not a failure)
#   case_cleanup CMD              inside a case: run CMD when the case ends (umount, kill...)
#   fl_summary                    "N ok, N skipped, N failed"; exit 1 on any failure, 77 when
#                                 every case was skipped
#   fl_mock_start [mock args...]  mock_start with a small fake model (4 MiB + 3 MiB unless
#                                 MOCK_MODEL_SIZE / MOCK_CODEC_SIZE say otherwise); the
#                                 working directory becomes $T/cwd (core files land in $T)
#   case_begin                    (run_case does it) fresh $CD=$T/cases/NAME, $HFH=$CD/hf,
#                                 the mock back to normal (no faults, default options, empty
#                                 log and counters)
#   dl [VAR=value... --] ARGS...  run_bs "download $REPO ARGS" with HF_HOME=$HFH, the granted
#                                 token in HF_TOKEN and the fast retry knobs ($FAST)
#   dl_bg [VAR=value... --] ARGS... the same in the background: DL_PID, $CD/bg.out, $CD/bg.err
#   dl_bg_wait                    wait for it: DL_RC
#   capture_proc PID NAME         copy /proc/PID/cmdline (and environ unless NAME ends in
#                                 -noenv) to $CD/proc/NAME.* so that leak_scan reads them
#   verify_tree [--cache HUB_CACHE] [--complete REPO]... [--no-partials] [--local DIR REPO]...
#               [--archive DEST REPO PATH]...
#                                 the "byte-identical or absent" check (below)
#   cdn_bytes                     body bytes the CDN has sent since the last reset-stats
#   fl_cases_on_tmpfs SIZE        $T/cases on a tmpfs where permitted (quick small-file trees)
#   elapsed_ms START_NS           milliseconds since START_NS (date +%s%N)
#   assert_downloaded             the last run printed the success line for $REPO
#   resumed_ranges                how many logged GETs asked for a Range not starting at 0
#   rst_proxy_start UP AFTER N    a resetting TCP proxy (below)
#   end_case [TOKEN...]           verify_tree of $HFH/hub, then leak_scan of the granted token
#                                 (and every TOKEN) over all of $T and the mock's request log
#
# verify_tree checks, over the cache (default $HFH/hub):
#   * every blobs/<etag> (not a partial) hashes to its own name: sha256 for 64 hex, the git
#     blob sha1 for 40 hex, so nothing unverified ever sits under a final name;
#   * every snapshots/<commit>/<path> is a regular file or a symlink to a blob (never
#     dangling) whose content equals what the mock serves for that repo, commit and path;
#   * no *.incomplete anywhere, no *.bspart* in snapshots/;
#   * with --no-partials: no *.bspart, *.bspart.json[.live] or temp file left anywhere, and
#     every blobs/<etag>.bsunsynced marker next to its blob;
#   * with --complete REPO: every file of the mock's current default branch of REPO is in
#     the snapshot of that commit;
#   * with --local DIR REPO: every file of DIR (outside .cache/) has the content of that path
#     in some commit of REPO, and no partial sits there;
#   * with --archive DEST REPO PATH: DEST is absent, or holds exactly the regular files of
#     the mock's tar archive PATH, byte for byte (plus the unpacker's marker).
# shellcheck disable=SC2034,SC2030,SC2031,SC2119,SC2120  # variables for the sourcing scripts; per-case subshells

REPO=fishaudio/openaudio-s1-mini
FAST=(BOOTSTRAP_RETRY_BASE_MS=20 BOOTSTRAP_RETRY_MAX_MS=200 BOOTSTRAP_RETRIES=3
      HF_HUB_DOWNLOAD_TIMEOUT=2 HF_HUB_ETAG_TIMEOUT=5)
_FL_OK=0
_FL_NCASE=0
_FL_SKIP=0
_FL_FAILED=()
CASE=
CD=
HFH=

fl_mock_start() {
    MOCK_MODEL_SIZE=${MOCK_MODEL_SIZE:-4M} MOCK_CODEC_SIZE=${MOCK_CODEC_SIZE:-3M} mock_start "$@"
    mkdir -p "$T/cwd"
    cd "$T/cwd" || fail "cannot enter $T/cwd"
}

# fl_cases_on_tmpfs SIZE: put $T/cases on a tmpfs (as root, where mounting is permitted), so
# that trees of thousands of small files are written and removed quickly; silently stays on
# the disk otherwise
fl_cases_on_tmpfs() {
    mkdir -p "$T/cases"
    [ "$(id -u)" = 0 ] || return 0
    if mount -t tmpfs -o "size=$1" tmpfs "$T/cases" 2>/dev/null; then
        at_exit "umount -l '$T/cases'"
    fi
}

elapsed_ms() {
    echo $(( ($(date +%s%N) - $1) / 1000000 ))
}

cdn_bytes() {
    mock_stats | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["bytes"].get("cdn", 0))'
}

case_begin() {
    CD=$T/cases/$CASE
    HFH=$CD/hf
    mkdir -p "$CD"
    if [ -n "${MOCK_PID:-}" ]; then
        mock_faults '[]'
        mock_ctl set '{"cdn_rate_bps": 0, "cdn_url_ttl": 3600, "cdn_host": "127.0.0.1",
                       "small_file_threshold": 0, "small_file_redirect": false,
                       "gzip_text": false, "tree_page_size": 1000, "cdn_reject_auth": false}' >/dev/null
        mock_ctl reset >/dev/null
    fi
}

# run_case NAME FUNCTION
run_case() {
    local name=$1 fn=$2 rc t0
    t0=$(date +%s%N)
    _FL_NCASE=$((_FL_NCASE + 1))
    set +e
    (
        set -e
        CASE=$name
        _LIB_RUNS=$((_FL_NCASE * 100))
        _FL_CLEAN=()
        trap '_fl_cleanup' EXIT
        case_begin
        "$fn"
    )
    rc=$?
    set -e
    case $rc in
    0) _FL_OK=$((_FL_OK + 1)); echo "case $name: ok ($(elapsed_ms "$t0") ms)"
       # scanned and verified: drop it, so later leak scans and the final cleanup stay quick
       [ "${KEEP:-0}" = 1 ] || rm -rf "$T/cases/$name" ;;
    77) _FL_SKIP=$((_FL_SKIP + 1)) ;;
    *) _FL_FAILED+=("$name"); echo "case $name: FAIL (exit $rc, $(elapsed_ms "$t0") ms)" ;;
    esac
}

# case_cleanup CMD: run CMD (eval'd) when the case ends, last registered first
case_cleanup() {
    _FL_CLEAN=("$*" "${_FL_CLEAN[@]+"${_FL_CLEAN[@]}"}")
}

_fl_cleanup() {
    local c
    for c in "${_FL_CLEAN[@]+"${_FL_CLEAN[@]}"}"; do
        eval "$c" || true
    done
}

skip_case() {
    echo "case $CASE: SKIP $*"
    exit 77
}

fl_summary() {
    echo "$TEST_NAME: $_FL_OK ok, $_FL_SKIP skipped, ${#_FL_FAILED[@]} failed${_FL_FAILED[*]:+ (${_FL_FAILED[*]})}"
    [ ${#_FL_FAILED[@]} -eq 0 ] || exit 1
    [ "$_FL_OK" -gt 0 ] || exit 77
    exit 0
}

# _fl_has_dashdash ARGS...: one of ARGS is "--" (no pipe into grep -q: with pipefail, the
# writer's SIGPIPE would make the answer random)
_fl_has_dashdash() {
    local a
    for a in "$@"; do
        [ "$a" != "--" ] || return 0
    done
    return 1
}

# dl [VAR=value... --] ARGS...: bootstrap download of $REPO into $HFH
dl() {
    local envs=()
    if _fl_has_dashdash "$@"; then
        while [ "$1" != "--" ]; do envs+=("$1"); shift; done
        shift
    fi
    run_bs HF_HOME="$HFH" HF_TOKEN="$TOKEN_OK" "${FAST[@]}" "${envs[@]+"${envs[@]}"}" -- \
        download "$REPO" "$@"
}

# dl_bg [VAR=value... --] ARGS...: the same in the background
dl_bg() {
    local envs=()
    if _fl_has_dashdash "$@"; then
        while [ "$1" != "--" ]; do envs+=("$1"); shift; done
        shift
    fi
    mkdir -p "$T/home" "$T/tmp"
    local base=(PATH="$PATH" HOME="$T/home" HF_HOME="$HFH" BOOTSTRAP_STATE_DIR="$CD/state"
                TMPDIR="$T/tmp" LANG=C.UTF-8 HF_ENDPOINT="$HF_ENDPOINT" HF_TOKEN="$TOKEN_OK")
    local v
    for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
        [ -z "${!v:-}" ] || base+=("$v=${!v}")
    done
    env -i "${base[@]}" "${FAST[@]}" "${envs[@]+"${envs[@]}"}" "$BOOTSTRAP" download "$REPO" "$@" \
        </dev/null >"$CD/bg.out" 2>"$CD/bg.err" &
    DL_PID=$!
}

# dl_bg_started BYTES: wait (up to 15 s) until the CDN has sent more than BYTES to the
# background download; fails when it never starts or ends first.
dl_bg_started() {
    local n=0
    until [ "$(cdn_bytes)" -gt "$1" ]; do
        n=$((n + 1)); [ "$n" -lt 300 ] || fail "the download did not start"
        kill -0 "$DL_PID" 2>/dev/null || { cat "$CD/bg.err" >&2; fail "the download ended before it was $1 bytes in"; }
        sleep 0.05
    done
}

dl_bg_wait() {
    if wait "$DL_PID" 2>/dev/null; then DL_RC=0; else DL_RC=$?; fi
}

# capture_proc PID NAME: the process's argv (and environment) as files under $CD/proc
capture_proc() {
    mkdir -p "$CD/proc"
    tr '\0' '\n' <"/proc/$1/cmdline" >"$CD/proc/$2.cmdline" 2>/dev/null || true
    case $2 in
    *-noenv) ;;
    *) tr '\0' '\n' <"/proc/$1/environ" >"$CD/proc/$2.environ" 2>/dev/null || true ;;
    esac
}

verify_tree() {
    local files=$CD/mock-files.json
    mock_get "files?all=1" >"$files"
    mock_get "files" >"${files%.json}-main.json"
    "$PYTHON" - "$files" --cache "$HFH/hub" "$@" <<'EOF' || fail "verify_tree: see above"
import hashlib, json, os, sys, tarfile

files_json, args = sys.argv[1], sys.argv[2:]
mock = json.load(open(files_json))["files"]
complete, locals_, archives, cache, no_partials = [], [], [], None, False
i = 0
while i < len(args):
    a = args[i]
    if a == "--complete":
        complete.append(args[i + 1]); i += 2
    elif a == "--local":
        locals_.append((args[i + 1], args[i + 2])); i += 3
    elif a == "--archive":
        archives.append((args[i + 1], args[i + 2], args[i + 3])); i += 4
    elif a == "--no-partials":
        no_partials = True; i += 1
    elif a == "--cache":
        cache = args[i + 1]; i += 2
    else:
        sys.exit("verify_tree: unknown argument %r" % a)
problems = []

def digest(path, kind):
    h = hashlib.sha256() if kind == "sha256" else hashlib.sha1()
    if kind == "git":
        h.update(b"blob %d\0" % os.path.getsize(path))
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()

by_key = {}          # (repo, commit, path) -> sha256
by_path = {}         # (repo, path) -> {sha256...}
heads = {}           # repo -> commit of the default branch (rev null)
for f in mock:
    by_key[(f["repo"], f["commit"], f["path"])] = f["sha256"]
    by_path.setdefault((f["repo"], f["path"]), set()).add(f["sha256"])
try:
    for f in json.load(open(files_json.replace(".json", "-main.json")))["files"]:
        heads[f["repo"]] = f["commit"]
except OSError:
    pass

def partial_name(n):
    return (n.endswith(".bspart") or n.endswith(".bspart.json") or n.endswith(".bspart.json.live")
            or ".bstmp." in n or n.endswith(".tmp")
            # write_atomic's temporary, <name>.tmp.<pid>.<n>: a kill mid-write leaves it
            or (".tmp." in n and n.rsplit(".tmp.", 1)[1].replace(".", "").isdigit()))

if cache and os.path.isdir(cache):
    for root, dirs, names in os.walk(cache):
        for n in names + dirs:
            p = os.path.join(root, n)
            if n.endswith(".incomplete"):
                problems.append("huggingface_hub-style partial %s" % p)
            if no_partials and partial_name(n):
                problems.append("partial or temporary file left: %s" % p)
    for top in sorted(os.listdir(cache)):
        rdir = os.path.join(cache, top)
        parts = top.split("--")
        if len(parts) < 3 or not os.path.isdir(rdir):
            continue
        repo = "/".join(parts[1:])
        bdir = os.path.join(rdir, "blobs")
        for n in sorted(os.listdir(bdir)) if os.path.isdir(bdir) else []:
            p = os.path.join(bdir, n)
            if partial_name(n):
                continue
            if n.endswith(".bsunsynced"):
                # placed before its data was known to be on disk: names a boot; after a
                # success its blob is there (a failed run may leave it for a later one)
                text = open(p).read().strip()
                if len(text) < 8 or "\n" in text:
                    problems.append("unsynced marker %s does not hold one boot id: %r" % (p, text[:80]))
                if no_partials and not os.path.isfile(p[:-len(".bsunsynced")]):
                    problems.append("unsynced marker without its blob: %s" % p)
                continue
            if os.path.islink(p) or not os.path.isfile(p):
                problems.append("blob %s is not a regular file" % p); continue
            kind = "sha256" if len(n) == 64 else "git" if len(n) == 40 else None
            if kind is None:
                problems.append("blob with an unexpected name: %s" % p); continue
            got = digest(p, kind)
            if got != n:
                problems.append("blob %s holds content with %s %s: unverified bytes under a final name" % (p, kind, got))
        sdir = os.path.join(rdir, "snapshots")
        seen = set()
        for root, dirs, names in os.walk(sdir):
            for n in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                p = os.path.join(root, n)
                rel = os.path.relpath(p, sdir)
                commit, path = rel.split(os.sep, 1)
                if partial_name(n):
                    problems.append("partial in a snapshot: %s" % p); continue
                if os.path.islink(p):
                    t = os.path.realpath(p)
                    if not os.path.isfile(t):
                        problems.append("dangling snapshot link %s -> %s" % (p, os.readlink(p))); continue
                    if os.path.dirname(t) != os.path.realpath(bdir):
                        problems.append("snapshot link %s points outside blobs/: %s" % (p, t))
                elif not os.path.isfile(p):
                    problems.append("snapshot entry %s is not a file" % p); continue
                want = by_key.get((repo, commit, path))
                got = digest(p, "sha256")
                if want is None:
                    problems.append("snapshot file %s is not a file of %s at %s" % (p, repo, commit))
                elif got != want:
                    problems.append("snapshot file %s: sha256 %s, the mock serves %s" % (p, got, want))
                seen.add((commit, path))
        for c in complete:
            if c != repo:
                continue
            commit = heads.get(repo)
            for (r, cm, path), sha in by_key.items():
                if r == repo and cm == commit and (cm, path) not in seen:
                    problems.append("%s at %s: '%s' missing from the snapshot" % (repo, commit[:12], path))
    for c in complete:
        if not any(t.split("--", 1)[-1].replace("--", "/") == c for t in os.listdir(cache)):
            problems.append("no cache folder for %s" % c)
elif complete:
    problems.append("no cache at %s" % cache)

for d, repo in locals_:
    if not os.path.isdir(d):
        continue
    for root, dirs, names in os.walk(d):
        if os.path.relpath(root, d).split(os.sep)[0] == ".cache":
            continue
        for n in names:
            p = os.path.join(root, n)
            rel = os.path.relpath(p, d)
            if partial_name(n) or n.endswith(".incomplete"):
                problems.append("partial in the local dir: %s" % p); continue
            got = digest(p, "sha256")
            if got not in by_path.get((repo, rel), set()):
                problems.append("local file %s: sha256 %s is no version of '%s' in %s" % (p, got, rel, repo))

for dest, repo, path in archives:
    if not os.path.exists(dest):
        continue
    src = [f for f in mock if f["repo"] == repo and f["path"] == path][0]["data_file"]
    want = {}
    with tarfile.open(src) as tf:
        for m in tf.getmembers():
            if m.isfile():
                want[os.path.normpath(m.name)] = tf.extractfile(m).read()
    got = set()
    for root, dirs, names in os.walk(dest):
        for n in names:
            p = os.path.join(root, n)
            rel = os.path.relpath(p, dest)
            if rel == ".bootstrap-unpacked":
                continue
            got.add(rel)
            if rel not in want:
                problems.append("unpacked %s is not in the archive" % p)
            elif open(p, "rb").read() != want[rel]:
                problems.append("unpacked %s differs from the archive" % p)
    for rel in sorted(set(want) - got):
        problems.append("%s exists but lacks '%s' from the archive (half unpacked)" % (dest, rel))
    if not os.path.exists(os.path.join(dest, ".bootstrap-unpacked")):
        problems.append("%s exists without the unpacker's marker" % dest)

for p in problems[:20]:
    print("verify_tree:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
}

# assert_downloaded: the last run said it downloaded $REPO (the success message)
assert_downloaded() {
    assert_contains "$T/err" "downloaded '$REPO'"
}

# assert_complete: the download exited 0, said so, and left the whole repository verified
# with no partial behind
assert_complete() {
    assert_rc 0
    assert_downloaded
    verify_tree --complete "$REPO" --no-partials
}

# resumed_ranges: GETs in the mock's log whose Range starts past 0 (a resumed transfer)
resumed_ranges() {
    mock_log | "$PYTHON" -c '
import json, re, sys
n = 0
for line in sys.stdin:
    m = re.match(r"bytes=(\d+)-", json.loads(line).get("range") or "")
    n += bool(m and int(m.group(1)) > 0)
print(n)'
}

# end_case [TOKEN...]: the checks that close every case
end_case() {
    verify_tree
    leak_scan "$TOKEN_OK"
    local t
    for t in "$@"; do leak_scan "$t"; done
}

# rst_proxy_start UPSTREAM_PORT AFTER_BYTES COUNT: a TCP proxy on 127.0.0.1 in front of
# UPSTREAM_PORT that, on COUNT connections, forwards AFTER_BYTES of the answer and then
# aborts the connection with a TCP RST (SO_LINGER 0): a real "connection reset by peer",
# not the orderly close the mock's close_after_bytes makes. Sets PROXY_PORT and PROXY_PID;
# $CD/proxy.log gets one line per reset. Stopped at the end of the case.
rst_proxy_start() {
    local pf=$CD/proxy.port
    rm -f "$pf"
    "$PYTHON" - "$1" "$2" "$3" "$pf" "$CD/proxy.log" <<'EOF' &
import os, select, socket, struct, sys, threading
up, after, left, pf, logf = int(sys.argv[1]), int(sys.argv[2]), [int(sys.argv[3])], sys.argv[4], sys.argv[5]
lock = threading.Lock()
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(64)
open(pf + ".tmp", "w").write(str(srv.getsockname()[1]))
os.rename(pf + ".tmp", pf)

def serve(c):
    # one thread per connection and no other thread blocked on the socket, so that the
    # close with SO_LINGER 0 sends the RST at once
    try:
        u = socket.create_connection(("127.0.0.1", up))
    except OSError:
        c.close()
        return
    sent = 0
    try:
        while True:
            r, _, _ = select.select([c, u], [], [], 60)
            if not r:
                break
            if c in r:
                b = c.recv(65536)
                if not b:
                    break
                u.sendall(b)
            if u in r:
                b = u.recv(65536)
                if not b:
                    break
                if sent + len(b) > after:
                    with lock:
                        fire = left[0] > 0
                        if fire:
                            left[0] -= 1
                    if fire:
                        c.sendall(b[:max(0, after - sent)])
                        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        with open(logf, "a") as f:
                            f.write("reset after %d bytes\n" % after)
                        return
                c.sendall(b)
                sent += len(b)
    except OSError:
        pass
    finally:
        c.close()
        u.close()

while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
    PROXY_PID=$!
    local n=0
    until [ -s "$pf" ]; do
        n=$((n + 1)); [ "$n" -lt 100 ] || fail "the reset proxy did not start"
        sleep 0.05
    done
    PROXY_PORT=$(cat "$pf")
    case_cleanup "kill $PROXY_PID 2>/dev/null"
}
