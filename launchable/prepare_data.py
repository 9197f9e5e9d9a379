#!/usr/bin/env python3
"""Prepare Finnish speech data in fish-speech's fine-tuning layout.

fish-speech (docs/en/finetune.md at d3df505) wants one folder per speaker under its data
folder, each clip an audio file plus a .lab file with the plain transcript:

    OUT/<SPEAKER>/<clip>.wav
    OUT/<SPEAKER>/<clip>.lab      one line, UTF-8, numbers written as words

and packs up to max_length // 20 consecutive clips of one folder into one training context
(fish_speech/datasets/semantic.py): a folder must hold one voice, or the model learns to
switch voices in the middle of a context. So:

  --format fleurs    google/fleurs (config fi_fi): the transcript TSV (id, file name, raw
                     transcription, transcription, words, num_samples, gender; no header)
                     and the folder its audio archive was unpacked into (searched
                     recursively). FLEURS has no speaker ids (several clips of one speaker
                     cannot be told from clips of two speakers of the same gender), so
                     every clip gets a folder of its own.
  --format ljspeech  a single-speaker corpus in LJSpeech's layout (CSS10 Finnish, a
                     recording of your own): metadata.csv with "id|text" or
                     "id|text|normalised text" rows and wavs/<id>.wav; every clip goes into
                     one speaker folder (--speaker NAME).

The raw transcription (case and punctuation kept) is normalised with fi_normalize.py from
the same folder (numbers in the right grammatical case, via num2words). A clip whose
transcript cannot be normalised with confidence is dropped, counted, and a sample of the
reasons is reported: a transcript that says something other than its audio is worse than
no clip.

Restartable: a clip already in place with the same content is left alone; audio is
hard-linked (falling back to a copy), never modified; labels of dropped clips are removed.

Exit status: 0 done; 2 usage error or unreadable input; 3 fewer usable clips than
--min-clips (tiny datasets crash fish-speech's packing, fishaudio/fish-speech#521).
Runs in fish-speech's environment (num2words is installed there).
"""

import argparse
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ next to the installed scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fi_normalize  # noqa: E402  (a sibling file, not an installed package)

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg")


def safe_name(name):
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".") \
        and "\0" not in name


def read_fleurs_tsv(path, warn):
    """Yield (clip file name, raw transcription, speaker folder) for every usable row."""
    with open(path, encoding="utf-8", newline="") as f:
        for lineno, line in enumerate(f, 1):
            cols = line.rstrip("\r\n").split("\t")
            if len(cols) < 7:
                continue
            file_name, raw = cols[1].strip(), cols[2].strip()
            if not file_name.lower().endswith(AUDIO_EXTENSIONS) or not raw:
                continue
            if not safe_name(file_name):
                warn(f"{path}:{lineno}: unsafe file name skipped")
                continue
            yield file_name, raw, "fleurs-" + os.path.splitext(file_name)[0]


def read_ljspeech(path, speaker, warn):
    """Yield (clip file name, transcript, speaker folder) from an LJSpeech metadata.csv."""
    with open(path, encoding="utf-8", newline="") as f:
        for lineno, line in enumerate(f, 1):
            cols = line.rstrip("\r\n").split("|")
            if len(cols) < 2 or not cols[0].strip() or not cols[1].strip():
                continue
            clip = cols[0].strip()
            if not safe_name(clip):
                warn(f"{path}:{lineno}: unsafe clip id skipped")
                continue
            if not clip.lower().endswith(AUDIO_EXTENSIONS):
                clip += ".wav"
            yield clip, cols[1].strip(), speaker


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


def remove_clip(folder, stem):
    """A clip dropped now may have been placed by an earlier version: take it out."""
    for name in os.listdir(folder) if os.path.isdir(folder) else ():
        if os.path.splitext(name)[0] == stem:
            os.unlink(os.path.join(folder, name))
    try:
        os.rmdir(folder)
    except OSError:
        pass


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--format", choices=("fleurs", "ljspeech"), default="fleurs")
    p.add_argument("--tsv", action="append",
                   help="fleurs: transcript TSV (repeatable); ljspeech: metadata.csv")
    p.add_argument("--audio", required=True, help="folder holding the unpacked audio")
    p.add_argument("--out", required=True, help="fish-speech data folder to fill")
    p.add_argument("--speaker", default="speaker",
                   help="ljspeech: the speaker folder's name (default speaker)")
    p.add_argument("--min-clips", type=int, default=100)
    p.add_argument("--max-clips", type=int, default=0, help="0 = all")
    p.add_argument("--link", choices=("hard", "copy", "symlink"), default="hard")
    p.add_argument("--dry-run", action="store_true", help="count, write nothing")
    a = p.parse_args(argv)

    def warn(msg):
        print("prepare_data: " + msg, file=sys.stderr)

    if not a.tsv:
        warn("--tsv is required (the transcript file)")
        return 2
    for t in a.tsv:
        if not os.path.isfile(t):
            warn(f"no transcript file '{t}'")
            return 2
    if not os.path.isdir(a.audio):
        warn(f"no audio folder '{a.audio}'")
        return 2
    if not safe_name(a.speaker):
        warn(f"--speaker '{a.speaker}' is not a plain folder name")
        return 2

    audio = index_audio(a.audio)
    stats = {"format": a.format, "clips": 0, "speakers": 0, "missing_audio": 0,
             "dropped_unsure": 0, "dropped_examples": [], "new_audio": 0, "new_labels": 0}
    speakers = set()
    seen = set()
    rows = []
    for t in a.tsv:
        rows.extend(read_fleurs_tsv(t, warn) if a.format == "fleurs"
                    else read_ljspeech(t, a.speaker, warn))
    for file_name, raw, speaker in rows:
        if a.max_clips and stats["clips"] >= a.max_clips:
            break
        if file_name in seen:
            continue
        seen.add(file_name)
        src = audio.get(file_name)
        if not src:
            stats["missing_audio"] += 1
            continue
        stem = os.path.splitext(file_name)[0]
        folder = os.path.join(a.out, speaker)
        text, why = fi_normalize.try_normalize(raw)
        if text is None:
            stats["dropped_unsure"] += 1
            if len(stats["dropped_examples"]) < 20:
                stats["dropped_examples"].append({"clip": file_name, "text": raw, "why": why})
            if not a.dry_run:
                remove_clip(folder, stem)
            continue
        stats["clips"] += 1
        speakers.add(speaker)
        if a.dry_run:
            continue
        os.makedirs(folder, exist_ok=True)
        ext = os.path.splitext(file_name)[1].lower()
        if place_audio(src, os.path.join(folder, stem + ext), a.link):
            stats["new_audio"] += 1
        if write_if_changed(os.path.join(folder, stem + ".lab"), text + "\n"):
            stats["new_labels"] += 1
    stats["speakers"] = len(speakers)

    if not a.dry_run:
        os.makedirs(a.out, exist_ok=True)
        write_if_changed(os.path.join(a.out, "prepare_data.json"),
                         json.dumps(stats, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    total = stats["clips"] + stats["dropped_unsure"]
    print("prepare_data: %d clips in %d speaker folder(s); %d of %d dropped (numbers that "
          "cannot be read with confidence), %d without audio; %d audio and %d labels written"
          % (stats["clips"], stats["speakers"], stats["dropped_unsure"], total,
             stats["missing_audio"], stats["new_audio"], stats["new_labels"]))
    for ex in stats["dropped_examples"][:3]:
        print("prepare_data: dropped %s (%s): %s" % (ex["clip"], ex["why"], ex["text"]))
    if stats["clips"] < a.min_clips:
        warn(f"only {stats['clips']} usable clips, at least {a.min_clips} are needed "
             "(fish-speech fails on tiny datasets)")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
