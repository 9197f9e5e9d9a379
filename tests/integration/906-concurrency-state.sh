#!/bin/bash
# shellcheck disable=SC2317,SC2119  # the case functions are called through run_case
# 906-concurrency-state: 'bootstrap run' (and download) against each other, signals during the
# unpack, a damaged state file, and a licence granted while the run waits. The runs use a test
# manifest (model pinned to the mock's commit, FLEURS replaced by an 8000-file tar.gz so that
# unpacking takes a while), --allow-no-gpu --non-interactive --token-stdin, a state dir and a
# workspace per case, and a fake entrypoint that writes its argv, environment and descriptors
# to $CD/ep/ so that the leak scan reads them.
#   concurrent_downloads  two 'download's of one repo into one cache at once: each exits 0 or
#                         10 ("another process"), the cache ends verified, no file twice
#   concurrent_runs       a second run while the first is fetching: exit 10 naming the holder,
#                         the state untouched; the first finishes; its argv/environment hold
#                         no token
#   sigterm_unpack        SIGTERM in the middle of unpacking: exit 143, the destination absent,
#                         no staging folder left, state "interrupted"; --resume completes
#   state_truncated       state.json cut to 0 bytes, to half, and overwritten by a block of
#                         NULs (power loss): 'status' exits 1 saying so; 'run --resume' keeps a
#                         copy, starts over, fetches nothing again, and finishes
#   licence_wait          the licence is granted while --wait-for-access polls: the run goes on
#                         and hands off; the entrypoint's environment holds no token
# Every case ends with: the HF cache, the model folder and the unpacked data byte-identical to
# the mock's or absent, and the leak scan.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh
. "$(dirname "$0")/fault-lib.sh"
need_bootstrap
need_cmd curl

# -- the mock: the fake model, FLEURS' audio archive replaced by a big one ------------------
mkdir -p "$T/corpus"
"$PYTHON" "$REPO_ROOT/tests/archive_corpus.py" many "$T/corpus" 8000 >/dev/null
mkdir -p "$T/mock"
"$PYTHON" "$MOCK_HUB_PY" --make-config fake-model "$T/mock/config.json" --model-size 4M \
    --codec-size 3M >/dev/null
"$PYTHON" - "$T/mock/config.json" "$T/corpus/many.tar.gz" <<'EOF'
import json, sys
cfg, tgz = sys.argv[1:3]
c = json.load(open(cfg))
for r in c["repos"]:
    if r["id"] == "google/fleurs":
        for commit in r["commits"].values():
            for f in commit["files"]:
                if f["path"] == "data/fi_fi/audio/train.tar.gz":
                    for k in ("base64", "text", "size", "seed"):
                        f.pop(k, None)
                    f["file"] = tgz
json.dump(c, open(cfg, "w"), indent=1)
EOF
fl_mock_start --config "$T/mock/config.json"
fl_cases_on_tmpfs 1g
ARCHIVE=data/fi_fi/audio/train.tar.gz

# run_setup: manifest, fake entrypoint and token file of this case
run_setup() {
    mkdir -p "$CD/ws" "$CD/ep"
    cat >"$CD/entry.sh" <<EOS
#!/bin/bash
# the fake entrypoint: records what it was given, then says it has finished
tr '\\0' '\\n' </proc/\$\$/cmdline >"$CD/ep/cmdline"
tr '\\0' '\\n' </proc/\$\$/environ >"$CD/ep/environ"
printf '%s\\n' "\$0" "\$@" >"$CD/ep/argv"
ls -l /proc/\$\$/fd >"$CD/ep/fds" 2>&1
: >"\${BOOTSTRAP_DONE_FILE:?}"
echo "fake entrypoint ran with \$# arguments"
EOS
    chmod +x "$CD/entry.sh"
    "$PYTHON" - "$REPO_ROOT" "$CD" "$MOCK_HUB_URL" <<'EOF'
import json, sys, urllib.request
root, cd, hub = sys.argv[1:4]
m = json.load(open(root + "/launchable/launchable.json"))
url = hub + "/_mock/files?repo=" + m["model"]["repo"]
m["model"]["revision"] = json.load(urllib.request.urlopen(url))["files"][0]["commit"]
m["workspace"] = cd + "/ws"
m["requirements"] = {"gpus": 1, "disk_gib": 0, "ram_gib": 0}
m["entrypoint"] = {"path": cd + "/entry.sh", "args": ["--fake", "two words"], "env": {"FAKE": "1"}}
json.dump(m, open(cd + "/manifest.json", "w"), indent=1)
EOF
    printf '%s' "$TOKEN_OK" >"$CD/token"
    case_cleanup "rm -f '$CD/token'"
    RUN_ARGS=(run --config "$CD/manifest.json" --allow-no-gpu --non-interactive --token-stdin)
    RUN_ENV=(HF_HOME="$HFH" BOOTSTRAP_STATE_DIR="$CD/state" "${FAST[@]}")
}

# run_fg ARGS...: a run in the foreground (token on stdin)
run_fg() {
    BS_STDIN=${TOKEN_FILE:-$CD/token} run_bs "${RUN_ENV[@]}" -- "${RUN_ARGS[@]}" "$@"
}

# run_bg ARGS...: a run in the background: RUN_PID, $CD/bg.out, $CD/bg.err
run_bg() {
    mkdir -p "$T/home" "$T/tmp"
    local base=(PATH="$PATH" HOME="$T/home" TMPDIR="$T/tmp" LANG=C.UTF-8 HF_ENDPOINT="$HF_ENDPOINT")
    local v
    for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
        [ -z "${!v:-}" ] || base+=("$v=${!v}")
    done
    env -i "${base[@]}" "${RUN_ENV[@]}" "${RUN_BG_ENV[@]+"${RUN_BG_ENV[@]}"}" "$BOOTSTRAP" \
        "${RUN_ARGS[@]}" "$@" <"${TOKEN_FILE:-$CD/token}" >"$CD/bg.out" 2>"$CD/bg.err" &
    RUN_PID=$!
    case_cleanup "kill -KILL $RUN_PID 2>/dev/null"
}

run_bg_wait() {
    if wait "$RUN_PID" 2>/dev/null; then RUN_RC=0; else RUN_RC=$?; fi
}

# wait_file FILE TEXT [SECONDS]
wait_file() {
    local n=0 limit=$(( ${3:-20} * 20 ))
    until [ -f "$1" ] && grep -a -q -F -- "$2" "$1"; do
        n=$((n + 1))
        [ "$n" -le "$limit" ] || { tail -n 20 "$1" >&2 2>/dev/null; fail "no '$2' in $1 after ${3:-20} s"; }
        sleep 0.05
    done
}

state_get() {
    "$PYTHON" -c 'import json, sys; s = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$CD/state/state.json" "$1"
}

# run_end_case [TOKEN...]: the closing checks of a run case
run_end_case() {
    local model_dir=$CD/ws/checkpoints/openaudio-s1-mini
    verify_tree --local "$model_dir" "$REPO" --archive "$CD/ws/data/fleurs_fi/audio" google/fleurs "$ARCHIVE"
    [ ! -e "$CD/ws/data/fleurs_fi/train.tsv" ] ||
        assert_file_sha256 "$CD/ws/data/fleurs_fi/train.tsv" "$(expected_sha256 google/fleurs data/fi_fi/train.tsv)"
    if compgen -G "$CD/ws/data/fleurs_fi/audio.unpack-*" >/dev/null; then
        fail "a staging folder of the unpacker was left: $(compgen -G "$CD/ws/data/fleurs_fi/audio.unpack-*")"
    fi
    leak_scan "$TOKEN_OK" --allow "$CD/token"
    local t
    for t in "$@"; do leak_scan "$t" --allow "$CD/token"; done
}

# complete_run_checks: the run finished and handed off to the fake entrypoint
complete_run_checks() {
    local model_dir=$CD/ws/checkpoints/openaudio-s1-mini f
    for f in model.pth codec.pth config.json tokenizer.tiktoken special_tokens.json; do
        assert_file_sha256 "$model_dir/$f" "$(expected_sha256 "$REPO" "$f")"
    done
    [ -f "$CD/ws/data/fleurs_fi/audio/.bootstrap-unpacked" ] || fail "the archive is not unpacked"
    assert_contains "$CD/ep/argv" "two words"
    assert_contains "$CD/ep/environ" "FAKE=1"
}

case_concurrent_downloads() {
    mock_ctl set '{"cdn_rate_bps": 3000000}' >/dev/null
    dl_bg -- --connections 2
    local first=$DL_PID
    dl_bg_started 200000
    dl --connections 2
    local second=$RC
    DL_PID=$first
    dl_bg_wait
    cp "$CD/bg.err" "$CD/first.err"
    echo "first download: exit $DL_RC; second: exit $second"
    case "$DL_RC/$second" in
    0/0|0/10|10/0) ;;
    *) cat "$CD/first.err" "$T/err" >&2; fail "exit statuses $DL_RC and $second" ;;
    esac
    if [ "$second" = 10 ]; then
        assert_contains "$T/err" "another"
    fi
    verify_tree --complete "$REPO" --no-partials
    # no file was transferred twice
    local lfs
    lfs=$(( $(expected_size "$REPO" model.pth) + $(expected_size "$REPO" codec.pth) ))
    [ "$(cdn_bytes)" -le $((lfs + lfs / 10)) ] || fail "the CDN sent $(cdn_bytes) bytes for $lfs"
    end_case
}

case_concurrent_runs() {
    run_setup
    mock_ctl set '{"cdn_rate_bps": 1500000}' >/dev/null
    run_bg
    wait_file "$CD/bg.err" "phase 3/5: fetch"
    capture_proc "$RUN_PID" first-run
    cp "$CD/state/state.json" "$CD/state-before.json"
    local t0 ms
    t0=$(date +%s%N)
    run_fg
    ms=$(elapsed_ms "$t0")
    assert_rc 10
    assert_contains "$T/err" "another bootstrap is running (pid $RUN_PID"
    assert_contains "$T/err" "doing: bootstrap run"
    [ "$ms" -lt 5000 ] || fail "the refusal took $ms ms"
    cmp -s "$CD/state/state.json" "$CD/state-before.json" || fail "the refused run changed the state"
    mock_ctl set '{"cdn_rate_bps": 0}' >/dev/null
    run_bg_wait
    [ "$RUN_RC" = 0 ] || { cat "$CD/bg.err" >&2; fail "the first run: exit $RUN_RC"; }
    complete_run_checks
    assert_not_contains "$CD/proc/first-run.cmdline" "$TOKEN_OK"
    assert_not_contains "$CD/proc/first-run.environ" "$TOKEN_OK"
    run_end_case
}

case_sigterm_unpack() {
    run_setup
    local dest=$CD/ws/data/fleurs_fi/audio n=0
    run_bg
    until compgen -G "$dest.unpack-*/d0[0-9]/f*" >/dev/null; do
        n=$((n + 1))
        kill -0 "$RUN_PID" 2>/dev/null || { cat "$CD/bg.err" >&2; fail "the run ended before the unpack could be interrupted"; }
        [ "$n" -lt 1200 ] || fail "no staging folder appeared"
        sleep 0.02
    done
    kill -TERM "$RUN_PID"
    run_bg_wait
    cp "$CD/bg.err" "$T/err"
    [ "$RUN_RC" = 143 ] || { cat "$CD/bg.err" >&2; fail "SIGTERM during unpack: exit $RUN_RC"; }
    assert_contains "$T/err" "interrupted in phase unpack"
    [ ! -e "$dest" ] || fail "the destination exists after an interrupted unpack"
    if compgen -G "$dest.unpack-*" >/dev/null; then fail "the staging folder was left"; fi
    assert_eq "$(state_get 's["status"]')" interrupted
    assert_eq "$(state_get 's["phases"]["unpack"]["status"]')" interrupted
    run_bs BOOTSTRAP_STATE_DIR="$CD/state" -- status
    assert_contains "$T/out" "interrupted in phase unpack"
    run_end_case
    run_fg --resume
    assert_rc 0
    complete_run_checks
    run_end_case
}

case_state_truncated() {
    run_setup
    run_fg --no-handoff
    assert_rc 0
    local good=$CD/state-good.json how
    cp "$CD/state/state.json" "$good"
    for how in empty half nuls; do
        case $how in
        empty) : >"$CD/state/state.json" ;;
        half) head -c "$(( $(stat -c %s "$good") / 2 ))" "$good" >"$CD/state/state.json" ;;
        nuls) head -c 4096 /dev/zero >"$CD/state/state.json" ;;
        esac
        run_bs BOOTSTRAP_STATE_DIR="$CD/state" -- status
        assert_rc 1
        assert_contains "$T/err" "cannot read the state"
        assert_contains "$T/err" "--resume"
        rm -f "$CD/state/"state.json.corrupt-*
        mock_ctl reset-log >/dev/null
        run_fg --resume --no-handoff
        assert_rc 0
        assert_contains "$T/err" "the state file is unreadable"
        compgen -G "$CD/state/state.json.corrupt-*" >/dev/null || fail "$how: no copy of the damaged state"
        assert_eq "$(mock_log_count --method GET --path '/(resolve|xet-bridge)')" 0 "$how: content fetched again"
        assert_eq "$(state_get 's["status"]')" skipped "$how: state after the recovery"
        echo "  $how: recovered"
    done
    run_end_case
}

case_licence_wait() {
    run_setup
    printf '%s' "$TOKEN_DENIED" >"$CD/token"
    mock_ctl revoke "{\"token\": \"$TOKEN_DENIED\", \"repo\": \"$REPO\"}" >/dev/null
    RUN_BG_ENV=(BOOTSTRAP_ACCESS_POLL_MS=200)
    run_bg --wait-for-access 1
    wait_file "$CD/bg.err" "access not granted yet"
    assert_eq "$(mock_log_count --origin cdn)" 0 "downloads before the licence"
    mock_ctl grant "{\"token\": \"$TOKEN_DENIED\", \"repo\": \"$REPO\"}" >/dev/null
    run_bg_wait
    [ "$RUN_RC" = 0 ] || { cat "$CD/bg.err" >&2; fail "exit $RUN_RC after the grant"; }
    complete_run_checks
    assert_not_contains "$CD/ep/environ" "$TOKEN_DENIED"
    mock_ctl revoke "{\"token\": \"$TOKEN_DENIED\", \"repo\": \"$REPO\"}" >/dev/null
    run_end_case "$TOKEN_DENIED"
}

run_case concurrent_downloads case_concurrent_downloads
run_case concurrent_runs case_concurrent_runs
run_case sigterm_unpack case_sigterm_unpack
run_case state_truncated case_state_truncated
run_case licence_wait case_licence_wait
fl_summary
