#!/bin/bash
# 518-disk-per-destination (issue 14 #4): every place that receives bytes is measured, and a
# shortage names the place that is short, with advice that exists for the command run.
#   - the Hugging Face cache on another disk than the workspace (here tmpfs /dev/shm against
#     the test's disk): the detect phase measures it too and, when it is short
#     (requirements.cache_gib), fails naming the cache and HF_HOME, not the workspace;
#   - 'bootstrap download' short of space in the cache names the cache and HF_HOME, and no
#     option 'run' lacks.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../fixtures/run/helpers.sh
. "$REPO_ROOT/tests/fixtures/run/helpers.sh"
need_bootstrap
SHM=/dev/shm
if [ ! -d "$SHM" ] || [ ! -w "$SHM" ]; then skip "no writable $SHM (a second file system is needed)"; fi
[ "$(stat -c %d "$SHM")" != "$(stat -c %d "$T")" ] || skip "$SHM and $T are one file system"
CACHE=$(mktemp -d "$SHM/bs-518.XXXXXX")
at_exit "rm -rf '$CACHE'"
export MOCK_MODEL_SIZE=1M MOCK_CODEC_SIZE=1M
mock_start
write_manifest 'm["requirements"]["cache_gib"] = 1000000'
printf '%s' "$TOKEN_OK" >"$T/token"
mapfile -t args < <(run_args)

BS_STDIN=$T/token run_bs HF_HOME="$CACHE/hf" -- "${args[@]}" --token-stdin --no-handoff
assert_rc 3
assert_contains "$T/err" "free in the Hugging Face cache $CACHE/hf/hub (another disk than the workspace)"
assert_contains "$T/err" "set HF_HOME to a folder on a disk with room"
assert_not_contains "$T/err" "BOOTSTRAP_WORKSPACE at a bigger"
# the same cache with enough room: the run goes on
write_manifest 'm["requirements"]["cache_gib"] = 0'
BS_STDIN=$T/token run_bs HF_HOME="$CACHE/hf" -- "${args[@]}" --token-stdin --no-handoff
assert_rc 0
assert_contains "$T/err" "disk: the Hugging Face cache $CACHE/hf/hub has "

# download: the hint names what 'download' has (HF_HOME / HF_HUB_CACHE), never --local-dir
# for the cache, and the place that is short
rm -rf "$CACHE/hf"
mkdir -p "$CACHE/tiny"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=600k tmpfs "$CACHE/tiny" 2>/dev/null; then
    at_exit "umount '$CACHE/tiny' 2>/dev/null"
    run_bs HF_TOKEN="$TOKEN_OK" HF_HUB_CACHE="$CACHE/tiny/hub" -- download fishaudio/openaudio-s1-mini
    assert_rc 7
    assert_contains "$T/err" "not enough disk space in '$CACHE/tiny"
    assert_contains "$T/err" "move the Hugging Face cache to a larger disk (HF_HOME"
    assert_not_contains "$T/err" "--local-dir"
    umount "$CACHE/tiny"
else
    echo "the download check needs a small tmpfs (root): skipped here"
fi
echo "ok"
