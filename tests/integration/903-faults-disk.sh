#!/bin/bash
# shellcheck disable=SC2317,SC2119  # the case functions are called through run_case
# 903-faults-disk: the disk says no.
#   disk_full_upfront   an 8 MiB tmpfs as the cache: exit 7 before any download, with the numbers
#   disk_filled_meanwhile another process fills the tmpfs mid-download: the partials were
#                       preallocated, so the download still completes
#   enospc_mid_download an ext2 loop file system (no fallocate, so no preallocation) filled by
#                       another process mid-download: exit 7 naming the file, the partial and
#                       its record kept; space freed, the next run reuses them and completes
#   readonly_cache      the cache folder is 0555 and the run is not root: a clean exit naming
#                       the folder, nothing written; a complete read-only cache still works
#                       (also with --local-dir elsewhere)
#   readonly_fs         the cache on a file system mounted read-only (EROFS): a clean exit
#   no_symlinks         the cache on exFAT (FUSE: no symlinks, no hard links, no fallocate):
#                       the snapshot must be real files with the right bytes, as
#                       huggingface_hub does there
#   no_symlinks_env     the same with HF_HUB_DISABLE_SYMLINKS=1, and a re-run fetches nothing
# Cases needing mount or a loop device skip (with the reason) where that is not permitted.
# Every case ends with the checks of fault-lib.sh end_case.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh
. "$(dirname "$0")/fault-lib.sh"
need_bootstrap
need_cmd curl

fl_mock_start

# mount_tmpfs DIR SIZE: a tmpfs there for this case, or skip the case
mount_tmpfs() {
    [ "$(id -u)" = 0 ] || skip_case "needs root to mount a tmpfs"
    mkdir -p "$1"
    mount -t tmpfs -o "size=$2" tmpfs "$1" 2>/dev/null || skip_case "mount -t tmpfs is not permitted here"
    case_cleanup "umount -l '$1'"
}

# mount_loop DIR SIZE MKFS...: a fresh file system in a loop file mounted at DIR, or skip
mount_loop() {
    local dir=$1 size=$2
    shift 2
    [ "$(id -u)" = 0 ] || skip_case "needs root to mount a loop file system"
    need_case_cmd "$1"
    mkdir -p "$dir"
    truncate -s "$size" "$dir.img"
    "$@" "$dir.img" >/dev/null 2>&1 || fail "$1 failed"
    mount -o loop "$dir.img" "$dir" 2>/dev/null || skip_case "loop mounts are not permitted here"
    case_cleanup "umount -l '$dir'"
}

need_case_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip_case "'$c' is not installed"
    done
}

# as_nobody VAR=value... -- ARGS: bootstrap as uid/gid 65534, output in $CD/nobody.out|err, RC
as_nobody() {
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    mkdir -p "$CD/nobody/home" "$CD/nobody/tmp"
    chown -R 65534:65534 "$CD/nobody"
    chmod 0711 "$T" "$T/cases" "$CD"
    if setpriv --reuid=65534 --regid=65534 --clear-groups \
        env -i PATH="$PATH" HOME="$CD/nobody/home" TMPDIR="$CD/nobody/tmp" LANG=C.UTF-8 \
        HF_ENDPOINT="$HF_ENDPOINT" HF_TOKEN="$TOKEN_OK" "${FAST[@]}" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" "${envs[@]}" \
        "$BOOTSTRAP" download "$REPO" "$@" </dev/null >"$CD/nobody.out" 2>"$CD/nobody.err"; then
        RC=0
    else
        RC=$?
    fi
}

case_disk_full_upfront() {
    mount_tmpfs "$CD/small" 8m
    dl HF_HUB_CACHE="$CD/small/hub" --
    assert_rc 7
    assert_contains "$T/err" "not enough disk space"
    assert_contains "$T/err" "free"
    assert_eq "$(mock_log_count --origin cdn)" 0 "CDN requests without space"
    verify_tree --cache "$CD/small/hub"
    end_case
}

case_disk_filled_meanwhile() {
    mount_tmpfs "$CD/small" 80m
    mock_ctl set '{"cdn_rate_bps": 4000000}' >/dev/null
    dl_bg HF_HUB_CACHE="$CD/small/hub" -- --connections 1
    dl_bg_started 500000
    fallocate -l "$(df -B1 --output=avail "$CD/small" | tail -n 1)" "$CD/small/filler" 2>/dev/null ||
        dd if=/dev/zero of="$CD/small/filler" bs=1M status=none 2>/dev/null || true
    [ "$(df -B1 --output=avail "$CD/small" | tail -n 1)" -lt 1048576 ] || fail "the tmpfs was not filled"
    dl_bg_wait
    cp "$CD/bg.err" "$T/err"
    RC=$DL_RC
    assert_rc 0
    assert_downloaded
    verify_tree --cache "$CD/small/hub" --complete "$REPO" --no-partials
    end_case
}

case_enospc_mid_download() {
    need_case_cmd mkfs.ext2
    mount_loop "$CD/ext2" 80M mkfs.ext2 -q -F -m 0
    local hub=$CD/ext2/hub
    mock_ctl set '{"cdn_rate_bps": 1000000}' >/dev/null
    dl_bg HF_HUB_CACHE="$hub" -- --connections 2
    dl_bg_started 600000
    dd if=/dev/zero of="$CD/ext2/filler" bs=1M status=none 2>/dev/null || true
    dl_bg_wait
    cp "$CD/bg.err" "$T/err"
    RC=$DL_RC
    assert_rc 7
    assert_contains "$T/err" "no space left"
    assert_contains "$T/err" "are kept"
    verify_tree --cache "$hub"
    local kept
    kept=$(find "$hub" -name '*.bspart' -size +0 | wc -l)
    [ "$kept" -ge 1 ] || fail "no partial kept after ENOSPC"
    [ "$(find "$hub" -name '*.bspart.json' | wc -l)" -ge 1 ] || fail "no resume record kept after ENOSPC"
    # space again: the next run completes and reuses what was written
    rm -f "$CD/ext2/filler"
    mock_ctl set '{"cdn_rate_bps": 0}' >/dev/null
    dl HF_HUB_CACHE="$hub" -- --json
    assert_rc 0
    assert_downloaded
    "$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["bytes_reused"] > 0, r' "$T/out" ||
        fail "the run after ENOSPC reused nothing"
    verify_tree --cache "$hub" --complete "$REPO" --no-partials
    end_case
}

case_readonly_cache() {
    [ "$(id -u)" = 0 ] || skip_case "needs root to switch to another user"
    need_case_cmd setpriv
    local ro=$CD/ro/hub
    mkdir -p "$ro"
    chmod 0555 "$ro" "$CD/ro"
    as_nobody HF_HUB_CACHE="$ro" --
    cp "$CD/nobody.err" "$T/err"
    assert_rc 2   # a person must act (issue 14): not 1, which the unit retries
    assert_contains "$T/err" "Permission denied"
    assert_contains "$T/err" "$ro"
    [ -z "$(find "$ro" -mindepth 1 | head -n 1)" ] || fail "something was written into the read-only cache"
    # a complete cache made read-only is still usable, also to fill a local dir elsewhere
    chmod 0755 "$CD/ro" "$ro"
    dl HF_HUB_CACHE="$ro" --
    assert_rc 0
    chmod -R a-w "$CD/ro"
    case_cleanup "chmod -R u+w '$CD/ro'"
    as_nobody HF_HUB_CACHE="$ro" -- --local-dir "$CD/nobody/home/ckpt"
    cp "$CD/nobody.err" "$T/err"
    assert_rc 0
    assert_contains "$T/err" "is complete"
    verify_tree --cache "$ro" --complete "$REPO" --no-partials --local "$CD/nobody/home/ckpt" "$REPO"
    [ "$(find "$CD/nobody/home/ckpt" -maxdepth 1 -type f | wc -l)" -eq 7 ] || fail "the local dir is incomplete"
    end_case
}

case_readonly_fs() {
    mount_tmpfs "$CD/rofs" 100m
    mkdir -p "$CD/rofs/hub"
    mount -o remount,ro "$CD/rofs" 2>/dev/null || skip_case "remount,ro is not permitted here"
    dl HF_HUB_CACHE="$CD/rofs/hub" --
    assert_rc 2
    assert_contains "$T/err" "Read-only file system"
    [ -z "$(find "$CD/rofs/hub" -mindepth 1 | head -n 1)" ] || fail "something appeared in the read-only cache"
    end_case
}

# mount_exfat DIR: an exFAT file system through FUSE (exfat-fuse), or skip
mount_exfat() {
    [ "$(id -u)" = 0 ] || skip_case "needs root for a loop device"
    need_case_cmd mkfs.exfat mount.exfat-fuse losetup
    [ -c /dev/fuse ] || skip_case "no /dev/fuse"
    mkdir -p "$1"
    truncate -s 100M "$1.img"
    mkfs.exfat "$1.img" >/dev/null 2>&1 || fail "mkfs.exfat failed"
    local loop
    loop=$(losetup -f --show "$1.img" 2>/dev/null) || skip_case "loop devices are not permitted here"
    case_cleanup "losetup -d '$loop'"
    mount.exfat-fuse "$loop" "$1" >/dev/null 2>&1 || skip_case "FUSE mounts are not permitted here"
    case_cleanup "umount '$1' || umount -l '$1'"
    if ln -s x "$1/probe" 2>/dev/null; then
        skip_case "this exFAT accepts symlinks"
    fi
}

case_no_symlinks() {
    mount_exfat "$CD/exfat"
    dl HF_HUB_CACHE="$CD/exfat/hub" -- --local-dir "$CD/exfat/ckpt"
    assert_rc 0
    assert_downloaded
    verify_tree --cache "$CD/exfat/hub" --complete "$REPO" --no-partials --local "$CD/exfat/ckpt" "$REPO"
    [ -z "$(find "$CD/exfat/hub" -type l | head -n 1)" ] || fail "symlinks on a file system without them?"
    end_case
}

case_no_symlinks_env() {
    mount_exfat "$CD/exfat"
    dl HF_HUB_CACHE="$CD/exfat/hub" HF_HUB_DISABLE_SYMLINKS=1 -- --local-dir "$CD/exfat/ckpt"
    assert_rc 0
    assert_downloaded
    verify_tree --cache "$CD/exfat/hub" --complete "$REPO" --no-partials --local "$CD/exfat/ckpt" "$REPO"
    local commit
    commit=$(cat "$CD/exfat/hub/models--fishaudio--openaudio-s1-mini/refs/main")
    [ -f "$CD/exfat/hub/models--fishaudio--openaudio-s1-mini/snapshots/$commit/model.pth" ] ||
        fail "the snapshot entry is not a regular file"
    mock_ctl reset-log >/dev/null
    dl HF_HUB_CACHE="$CD/exfat/hub" HF_HUB_DISABLE_SYMLINKS=1 -- --local-dir "$CD/exfat/ckpt"
    assert_rc 0
    assert_contains "$T/err" "is complete"
    assert_eq "$(mock_log_count --method GET --path '/(resolve|xet-bridge)')" 0 "content fetched again"
    end_case
}

run_case disk_full_upfront case_disk_full_upfront
run_case disk_filled_meanwhile case_disk_filled_meanwhile
run_case enospc_mid_download case_enospc_mid_download
run_case readonly_cache case_readonly_cache
run_case readonly_fs case_readonly_fs
run_case no_symlinks case_no_symlinks
run_case no_symlinks_env case_no_symlinks_env
fl_summary
