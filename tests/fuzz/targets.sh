# shellcheck shell=bash
# tests/fuzz/targets.sh - which inputs seed which fuzz harness (sourced by scripts/fuzz.sh and
# tests/integration/950-fuzz-regressions.sh). One place, so the fuzzer and the replay test agree.
#
#   fuzz_fixture_globs NAME   globs (relative to the repository root, bash globstar) of the
#                             fixture files that seed harness NAME; missing ones match nothing
#   fuzz_dict_sources NAME    source files whose string literals (JSON keys, header names) go
#                             into NAME's libFuzzer dictionary
#   fuzz_dicts NAME           hand-written dictionaries (tests/fuzz/dicts/*.dict) for NAME
#   fuzz_fixture_files NAME   the fixture files themselves, one per line
#
# Hand-made seeds live in tests/fuzz/seeds/NAME/, past crashes in tests/fuzz/regressions/NAME/.

fuzz_fixture_globs() {
    case $1 in
    smi)
        echo 'tests/fixtures/gpu/*/smi/*' 'tests/fixtures/smi/**/*' ;;
    proc)
        echo 'tests/fixtures/gpu/*/proc/**/*' 'tests/fixtures/gpu/*/sys/**/*' \
             'tests/fixtures/proc/**/*' ;;
    token)
        echo 'tests/fixtures/tokens/**/*' 'tests/fixtures/auth/tokens/**/*' ;;
    stored_tokens)
        echo 'tests/fixtures/auth/stored_tokens/*' ;;
    hub_repo_info)
        echo 'tests/fixtures/hub/**/*.json' ;;
    hub_tree)
        echo 'tests/fixtures/hub/**/*tree*' 'tests/fixtures/hub/**/*.json' ;;
    whoami)
        echo 'tests/fixtures/auth/whoami/*.json' 'tests/fixtures/hub/**/*whoami*' ;;
    hub_error)
        echo 'tests/fixtures/hub/errors/**/*' 'tests/fixtures/http/errors/**/*' ;;
    http_headers)
        echo 'tests/fixtures/http/**/*' 'tests/fixtures/hub/headers/**/*' ;;
    state)
        echo 'tests/fixtures/state/**/*' ;;
    manifest)
        echo 'launchable/launchable.json' 'tests/fixtures/manifest/**/*' \
             'tests/fixtures/launchable/**/*.json' ;;
    records)
        echo 'tests/fixtures/fetch/**/*' 'tests/fixtures/cache/**/*' ;;
    esac
}

fuzz_dict_sources() {
    case $1 in
    hub_repo_info) echo bootstrap/hub.c ;;
    hub_tree) echo bootstrap/hub.c bootstrap/hub_tree.c ;;
    whoami | stored_tokens | token) echo bootstrap/auth.c ;;
    hub_error | http_headers) echo bootstrap/http.c bootstrap/hub.c ;;
    state) echo bootstrap/state.c ;;
    manifest) echo bootstrap/manifest.c ;;
    records) echo bootstrap/fetch.c bootstrap/cache.c bootstrap/lock.c ;;
    smi | proc) echo bootstrap/gpu_parse.c ;;
    esac
}

# fuzz_dicts NAME: the hand-written dictionaries (tests/fuzz/dicts/) for NAME.
fuzz_dicts() {
    case $1 in
    smi | proc) echo tests/fuzz/dicts/smi.dict ;;
    token | stored_tokens) echo tests/fuzz/dicts/ini.dict ;;
    http_headers) echo tests/fuzz/dicts/http.dict ;;
    hub_error) echo tests/fuzz/dicts/http.dict tests/fuzz/dicts/json.dict ;;
    *) echo tests/fuzz/dicts/json.dict ;;
    esac
}

# fuzz_fixture_files NAME: the existing regular fixture files for NAME, one per line
# (at most 1 MiB each: a seed, not a load test).
fuzz_fixture_files() {
    local globs g f
    read -r -a globs <<<"$(fuzz_fixture_globs "$1")"
    shopt -s globstar nullglob
    for g in "${globs[@]}"; do
        # shellcheck disable=SC2086  # $g is a glob: expanding it is the point
        for f in $g; do
            [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 1048576 ] && printf '%s\n' "$f"
        done
    done | sort -u
    shopt -u globstar nullglob
}
