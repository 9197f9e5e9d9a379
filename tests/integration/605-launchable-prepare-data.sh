#!/bin/bash
# 605-launchable-prepare-data: launchable/prepare_data.py turns FLEURS (TSV + unpacked audio)
# or an LJSpeech-layout single-speaker corpus into fish-speech's layout with one voice per
# folder: FLEURS has no speaker ids, so every clip gets its own folder (fish-speech packs
# consecutive clips of a folder into one context); an LJSpeech corpus is one speaker.
# Numbers become words; a clip whose numbers cannot be read with confidence is dropped,
# counted and reported (and taken out if an earlier run had placed it); audio is found
# wherever the archive put it; rows without audio and unsafe names are skipped; a second
# run writes nothing; too few clips exit 3, a missing transcript 2.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_num2words
P=$REPO_ROOT/launchable/prepare_data.py
A=$T/audio
mkdir -p "$A/train/deep"
{
    for i in 1 2 3; do printf '%d\t1000%d.wav\tRaw %d. lause vuonna 1995.\tnorm\tw\t16000\tFEMALE\n' "$i" "$i" "$i"; done
    printf '4\t10004.wav\tHinta on 4 €.\tnorm\tw\t16000\tMALE\n'
    printf '5\t10005.wav\tPäivä 1.5.2020 oli lauantai.\tnorm\tw\t16000\tMALE\n'
    printf '6\t10006.wav\tEi ääntä\tnorm\tw\t16000\tMALE\n'
    printf '7\t../evil.wav\tpaha\tnorm\tw\t16000\tMALE\n'
    printf 'short\tline\n'
} >"$T/train.tsv"
for i in 1 2 3; do printf 'RIFF-fake-%d' "$i" >"$A/train/1000$i.wav"; done
for i in 4 5; do printf 'RIFF-fake-%d' "$i" >"$A/train/deep/1000$i.wav"; done

"$PYTHON" "$P" --tsv "$T/train.tsv" --audio "$A" --out "$T/data" --min-clips 4 >"$T/out" 2>"$T/err" ||
    { cat "$T/out" "$T/err" >&2; fail "prepare_data.py failed"; }
assert_contains "$T/out" "4 clips in 4 speaker folder(s); 1 of 5 dropped (numbers that cannot be read with confidence), 1 without audio"
assert_contains "$T/out" "dropped 10005.wav (a date (its case depends on the sentence)): Päivä 1.5.2020 oli lauantai."
assert_contains "$T/err" "unsafe file name skipped"
assert_eq "$(find "$T/data" -mindepth 1 -maxdepth 1 -type d | wc -l)" 4 "one folder per FLEURS clip"
[ -f "$T/data/fleurs-10001/10001.wav" ] || fail "no 10001.wav"
[ ! -e "$T/data/fleurs-10005" ] || fail "the dropped clip was placed"
assert_eq "$(cat "$T/data/fleurs-10002/10002.lab")" "Raw toinen lause vuonna tuhatyhdeksänsataayhdeksänkymmentäviisi."
assert_eq "$(cat "$T/data/fleurs-10004/10004.lab")" "Hinta on neljä euroa."
assert_eq "$(stat -c %i "$A/train/10001.wav")" "$(stat -c %i "$T/data/fleurs-10001/10001.wav")" "not a hard link"
if [ -e "$T/evil.wav" ] || [ -e "$T/data/evil.wav" ]; then fail "an unsafe name was used"; fi
"$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1]))
assert d["clips"]==4 and d["missing_audio"]==1 and d["dropped_unsure"]==1 and d["speakers"]==4, d
assert d["dropped_examples"][0]["clip"]=="10005.wav", d' "$T/data/prepare_data.json" || fail "prepare_data.json"

# restartable: nothing new the second time
"$PYTHON" "$P" --tsv "$T/train.tsv" --audio "$A" --out "$T/data" --min-clips 4 >"$T/out" 2>"$T/err"
assert_contains "$T/out" "0 audio and 0 labels written"
# a clip placed by an earlier version, now dropped, is taken out
mkdir -p "$T/data/fleurs-10005" && : >"$T/data/fleurs-10005/10005.wav" && echo old >"$T/data/fleurs-10005/10005.lab"
"$PYTHON" "$P" --tsv "$T/train.tsv" --audio "$A" --out "$T/data" --min-clips 4 >"$T/out" 2>"$T/err"
[ ! -e "$T/data/fleurs-10005" ] || fail "a dropped clip stayed in the data"

# an LJSpeech-layout single-speaker corpus: one folder
mkdir -p "$T/lj/wavs"
printf 'a1|Kokous on 5:ssä kerroksessa.|x\na2|Meri oli tyyni.\na3|Hinta on 10-20 euroa.\n' >"$T/lj/metadata.csv"
for c in a1 a2 a3; do printf 'RIFF' >"$T/lj/wavs/$c.wav"; done
"$PYTHON" "$P" --format ljspeech --tsv "$T/lj/metadata.csv" --audio "$T/lj/wavs" --speaker css10-fi \
    --out "$T/ljdata" --min-clips 2 >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; fail "ljspeech"; }
assert_contains "$T/out" "2 clips in 1 speaker folder(s); 1 of 3 dropped"
assert_eq "$(cat "$T/ljdata/css10-fi/a1.lab")" "Kokous on viidessä kerroksessa."
[ -f "$T/ljdata/css10-fi/a2.wav" ] || fail "no a2.wav"

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
