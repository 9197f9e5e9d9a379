#!/bin/bash
# 605-launchable-prepare-data: launchable/prepare_data.py turns a FLEURS-style TSV and its
# unpacked audio into fish-speech's layout (speaker folders of .wav + .lab, numbers as
# words), finds audio wherever the archive put it, skips rows without audio, is
# restartable (a second run writes nothing) and refuses too few clips (exit 3).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
P=$REPO_ROOT/launchable/prepare_data.py
A=$T/audio
mkdir -p "$A/train/deep"
# 6 rows: FEMALE x3, MALE x2, one without audio; an unsafe name is skipped
{
    for i in 1 2 3; do printf '%d\t1000%d.wav\tRaw %d. lause vuonna 1995.\tnorm\tw\t16000\tFEMALE\n' "$i" "$i" "$i"; done
    for i in 4 5; do printf '%d\t1000%d.wav\tHinta on %d €.\tnorm\tw\t16000\tMALE\n' "$i" "$i" "$i"; done
    printf '6\t10006.wav\tEi ääntä\tnorm\tw\t16000\tMALE\n'
    printf '7\t../evil.wav\tpaha\tnorm\tw\t16000\tMALE\n'
    printf 'short\tline\n'
} >"$T/train.tsv"
for i in 1 2 3; do printf 'RIFF-fake-%d' "$i" >"$A/train/1000$i.wav"; done
for i in 4 5; do printf 'RIFF-fake-%d' "$i" >"$A/train/deep/1000$i.wav"; done

"$PYTHON" "$P" --tsv "$T/train.tsv" --audio "$A" --out "$T/data" --min-clips 5 >"$T/out" 2>"$T/err" ||
    { cat "$T/err" >&2; fail "prepare_data.py failed"; }
assert_contains "$T/out" "5 clips (FLEURS_FI_F 3, FLEURS_FI_M 2), 1 without audio"
assert_contains "$T/err" "unsafe file name skipped"
[ -f "$T/data/FLEURS_FI_F/10001.wav" ] || fail "no 10001.wav"
[ -f "$T/data/FLEURS_FI_M/10005.wav" ] || fail "no 10005.wav"
assert_eq "$(cat "$T/data/FLEURS_FI_F/10002.lab")" "Raw toinen lause vuonna tuhatyhdeksänsataayhdeksänkymmentäviisi."
assert_eq "$(cat "$T/data/FLEURS_FI_M/10004.lab")" "Hinta on neljä euroa."
assert_eq "$(stat -c %i "$A/train/10001.wav")" "$(stat -c %i "$T/data/FLEURS_FI_F/10001.wav")" "not a hard link"
if [ -e "$T/evil.wav" ] || [ -e "$T/data/evil.wav" ]; then fail "an unsafe name was used"; fi
"$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["clips"]==5 and d["missing_audio"]==1, d' \
    "$T/data/prepare_data.json" || fail "prepare_data.json"

# restartable: nothing new the second time
"$PYTHON" "$P" --tsv "$T/train.tsv" --audio "$A" --out "$T/data" --min-clips 5 >"$T/out" 2>"$T/err"
assert_contains "$T/out" "0 audio and 0 labels written"

# too few clips: exit 3 with the reason
set +e
"$PYTHON" "$P" --tsv "$T/train.tsv" --audio "$A" --out "$T/data2" >"$T/out" 2>"$T/err"
rc=$?
set -e
assert_eq "$rc" 3 "exit status with too few clips"
assert_contains "$T/err" "at least 100 are"
# a missing transcript: exit 2
set +e
"$PYTHON" "$P" --tsv "$T/none.tsv" --audio "$A" --out "$T/data3" >/dev/null 2>&1
rc=$?
set -e
assert_eq "$rc" 2 "exit status without a transcript"
