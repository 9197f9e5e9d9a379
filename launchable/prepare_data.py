#!/usr/bin/env python3
"""Prepare Finnish speech data in fish-speech's fine-tuning layout.

fish-speech (docs/en/finetune.md at d3df505) wants one folder per speaker under its
data folder, each clip an audio file plus a .lab file with the plain transcript:

    OUT/<SPEAKER>/<clip>.wav
    OUT/<SPEAKER>/<clip>.lab      one line, UTF-8, numbers written as words

This script builds that from FLEURS (google/fleurs, config fi_fi): the transcript
TSV (columns: id, file_name, raw_transcription, transcription, words, num_samples,
gender; no header) and the folder the audio archive was unpacked into (searched
recursively for the file names the TSV lists, so the archive's inner layout does not
matter). FLEURS has no speaker ids, so clips are grouped by the recorded gender
(--speakers gender, the default) or put into one folder (--speakers single).

Restartable: a clip already in place with the same content is left alone; audio is
hard-linked (falling back to a copy), never modified. The raw transcription (case and
punctuation kept) is normalised with fi_normalize.py from the same folder.

Exit status: 0 done; 2 usage error; 3 fewer usable clips than --min-clips (tiny
datasets crash fish-speech's packing, fishaudio/fish-speech#521). Python standard
library only.
"""

import argparse
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ next to the installed scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fi_normalize  # noqa: E402  (a sibling file, not an installed package)

SPEAKER_FOLDERS = {"MALE": "FLEURS_FI_M", "FEMALE": "FLEURS_FI_F"}
AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg")


def read_fleurs_tsv(path):
    """Yield (file_name, raw_transcription, gender) for every usable row."""
    with open(path, encoding="utf-8", newline="") as f:
        for lineno, line in enumerate(f, 1):
            cols = line.rstrip("\r\n").split("\t")
            if len(cols) < 7:
                continue
            file_name, raw, gender = cols[1].strip(), cols[2].strip(), cols[6].strip()
            if not file_name.lower().endswith(AUDIO_EXTENSIONS) or not raw:
                continue
            if "/" in file_name or file_name.startswith("."):
                print(f"prepare_data: {path}:{lineno}: unsafe file name skipped",
                      file=sys.stderr)
                continue
            yield file_name, raw, gender.upper()


def index_audio(root):
    """Map file name -> path of every audio file under root."""
    found = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.lower().endswith(AUDIO_EXTENSIONS):
                found.setdefault(name, os.path.join(dirpath, name))
    return found


def place_audio(src, dst, mode):
    """Put src at dst (hard link, else copy); keep an identical file that is there."""
    try:
        st_src = os.stat(src)
        st_dst = os.stat(dst)
        if st_src.st_size == st_dst.st_size:
            return False
        os.unlink(dst)
    except FileNotFoundError:
        pass
    tmp = dst + ".tmp"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    if mode == "symlink":
        os.symlink(os.path.abspath(src), tmp)
    elif mode == "hard":
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
    else:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    return True


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return False
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tsv", action="append", required=True,
                   help="FLEURS transcript TSV (repeatable)")
    p.add_argument("--audio", required=True, help="folder holding the unpacked audio")
    p.add_argument("--out", required=True, help="fish-speech data folder to fill")
    p.add_argument("--speakers", choices=("gender", "single"), default="gender")
    p.add_argument("--min-clips", type=int, default=100)
    p.add_argument("--max-clips", type=int, default=0, help="0 = all")
    p.add_argument("--link", choices=("hard", "copy", "symlink"), default="hard")
    p.add_argument("--dry-run", action="store_true", help="count, write nothing")
    a = p.parse_args(argv)

    for t in a.tsv:
        if not os.path.isfile(t):
            print(f"prepare_data: no transcript file '{t}'", file=sys.stderr)
            return 2
    if not os.path.isdir(a.audio):
        print(f"prepare_data: no audio folder '{a.audio}'", file=sys.stderr)
        return 2

    audio = index_audio(a.audio)
    stats = {"clips": 0, "missing_audio": 0, "new_audio": 0, "new_labels": 0,
             "speakers": {}}
    seen = set()
    for tsv in a.tsv:
        for file_name, raw, gender in read_fleurs_tsv(tsv):
            if a.max_clips and stats["clips"] >= a.max_clips:
                break
            if file_name in seen:
                continue
            seen.add(file_name)
            src = audio.get(file_name)
            if not src:
                stats["missing_audio"] += 1
                continue
            speaker = "FLEURS_FI" if a.speakers == "single" else \
                SPEAKER_FOLDERS.get(gender, "FLEURS_FI_X")
            stem = os.path.splitext(file_name)[0]
            text = fi_normalize.normalize(raw)
            stats["clips"] += 1
            stats["speakers"][speaker] = stats["speakers"].get(speaker, 0) + 1
            if a.dry_run:
                continue
            folder = os.path.join(a.out, speaker)
            os.makedirs(folder, exist_ok=True)
            ext = os.path.splitext(file_name)[1].lower()
            if place_audio(src, os.path.join(folder, stem + ext), a.link):
                stats["new_audio"] += 1
            if write_if_changed(os.path.join(folder, stem + ".lab"), text + "\n"):
                stats["new_labels"] += 1

    if not a.dry_run:
        os.makedirs(a.out, exist_ok=True)
        write_if_changed(os.path.join(a.out, "prepare_data.json"),
                         json.dumps(stats, indent=1, sort_keys=True) + "\n")
    print("prepare_data: %d clips (%s), %d without audio, %d audio and %d labels written"
          % (stats["clips"], ", ".join("%s %d" % kv for kv in sorted(stats["speakers"].items()))
             or "none", stats["missing_audio"], stats["new_audio"], stats["new_labels"]))
    if stats["clips"] < a.min_clips:
        print(f"prepare_data: only {stats['clips']} usable clips, at least {a.min_clips} are "
              "needed (fish-speech fails on tiny datasets)", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
