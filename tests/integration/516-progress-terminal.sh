#!/bin/bash
# 516-progress-terminal (issue 14 #8): the live progress line of 'bootstrap download' in a
# real terminal (tmux) of 40 and of 120 columns.
#   - each redraw fits the width: the line never wraps, so the screen holds one progress
#     line, not a scrolling column of them;
#   - at 120 columns no stale fragment of a longer earlier line is left behind;
#   - the summary after it is in units a person reads (MiB), not raw byte counts.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap
need_cmd tmux
skip_under_valgrind "a terminal redraw test needs real time"
export MOCK_MODEL_SIZE=3M MOCK_CODEC_SIZE=1M
mock_start
REPO=fishaudio/openaudio-s1-mini
SOCK=$T/tmux.sock
at_exit "tmux -S '$SOCK' kill-server 2>/dev/null"

# one download in a terminal of $1 columns; the screen is captured while it runs and after
in_terminal() {
    local cols=$1 out=$T/screen.$1 n
    rm -rf "$T/hf.$cols"
    mock_faults '[{"match": {"origin": "cdn", "file": "(^|/)model\\.pth$"}, "sequence": [{"drip_bps": 400000}]}]'
    cat >"$T/run.$cols.sh" <<EOS
#!/bin/bash
env -i PATH="$PATH" HOME="$T/home" HF_HOME="$T/hf.$cols" HF_ENDPOINT="$HF_ENDPOINT" \
    HF_TOKEN="$TOKEN_OK" TERM=xterm ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
    "${BS_EXEC[@]}" download $REPO
echo "exit status \$?"
sleep 600
EOS
    chmod +x "$T/run.$cols.sh"
    tmux -S "$SOCK" new-session -d -x "$cols" -y 30 -s "w$cols" "$T/run.$cols.sh"
    : >"$out.during"
    for n in $(seq $((300 * $(slow_factor)))); do
        tmux -S "$SOCK" capture-pane -p -t "w$cols" >"$out.now" 2>/dev/null || true
        grep -q "MiB/s\|KiB/s" "$out.now" && cat "$out.now" >>"$out.during"
        grep -q "^exit status" "$out.now" && break
        sleep 0.1
    done
    [ "$n" -lt $((300 * $(slow_factor))) ] || fail "$cols columns: the download did not end"
    tmux -S "$SOCK" capture-pane -p -t "w$cols" >"$out.end"
    tmux -S "$SOCK" kill-session -t "w$cols"
    mock_faults '[]'
    grep -q "^exit status 0" "$out.end" || fail "$cols columns: $(cat "$out.end")"
    [ -s "$out.during" ] || fail "$cols columns: no live progress line was ever on screen"
    # at every capture: one progress line at most, and no line longer than the terminal
    "$PYTHON" - "$out.during" "$cols" <<'EOS' || fail "$cols columns: the progress line wraps or repeats (see $out.during)"
import sys
screens = open(sys.argv[1], errors="replace").read().split("\n\n")
cols = int(sys.argv[2])
for s in screens:
    lines = [l for l in s.split("\n") if "/s" in l and " / " in l]
    assert len(lines) <= 1, lines
    # a wrapped line would leave a fragment without the " / " on the next row: none
    frags = [l for l in s.split("\n") if l.strip().startswith(("ETA", "files", "iB/s"))]
    assert not frags, frags
EOS
    # the screen after the end: no leftover progress, a readable summary
    grep -q " / .*/s" "$out.end" && fail "$cols columns: a progress line was left on screen: $(cat "$out.end")"
    # (the summary is ordinary text: the terminal may wrap it)
    tr -d '\n' <"$out.end" | grep -q "MiB fetched" ||
        fail "$cols columns: no readable summary: $(cat "$out.end")"
    tr -d '\n' <"$out.end" | grep -qE "[0-9]{6,} bytes" &&
        fail "$cols columns: raw byte counts: $(cat "$out.end")"
    return 0
}

in_terminal 40
in_terminal 120
echo "ok"
