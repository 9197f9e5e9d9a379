#!/usr/bin/env python3
"""archive_corpus.py - build the archive corpus of the unpack tests at test time, and compare trees.

Nothing here is checked in as a binary: every archive is generated from code, with Python's
tarfile/zipfile and the zstd, xz and bzip2 commands.

  archive_corpus.py good DIR         DIR/src (the source tree) + DIR/good/<name> in every format;
                                     prints "<name> <flags>" per archive (flags: h = hard links kept,
                                     t = mtimes kept, s = symlinks kept)
  archive_corpus.py hostile DIR      DIR/hostile/<name>; prints a TSV manifest:
                                     name, expected exit code, expected message part, extra options
  archive_corpus.py many DIR N       DIR/many.tar and DIR/many.tar.gz with N tiny files
  archive_corpus.py check-many DEST N
                                     exit 0 when DEST holds exactly those N files, intact
  archive_corpus.py listing ROOT     one line per object under ROOT (type, mode, size, sha256, target),
                                     for "nothing was written outside DEST" checks
  archive_corpus.py compare SRC DEST [FLAGS]
                                     exit 0 when DEST holds exactly SRC (plus the unpack marker):
                                     bytes, types, permission bits (after the umask), symlink targets;
                                     FLAGS h: hard-link groups, t: file mtimes
"""
import gzip
import hashlib
import io
import os
import stat
import subprocess
import sys
import tarfile
import warnings
import zipfile

warnings.filterwarnings("ignore", "Duplicate name", UserWarning)  # zip-duplicate.zip is on purpose

MTIME = 1700000000  # fixed times make the trees comparable
MARKER = ".bootstrap-unpacked"


# ---------------------------------------------------------------------------------------- helpers
def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def compress(path, tool):
    """Compress path in place with an external tool; returns the new name."""
    args = {"zst": ["zstd", "-q", "-f", "--rm", "-3"], "xz": ["xz", "-f", "-T1", "-1"],
            "bz2": ["bzip2", "-f", "-1"]}[tool]
    subprocess.run(args + [path], check=True)
    return path + "." + tool


def make_tar(path, entries, fmt=tarfile.PAX_FORMAT, mode="w"):
    """entries: list of (TarInfo, bytes or None)."""
    with tarfile.open(path, mode, format=fmt) as t:
        for ti, data in entries:
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)


def ti(name, type_=tarfile.REGTYPE, mode=0o644, linkname="", size=0):
    t = tarfile.TarInfo(name)
    t.type = type_
    t.mode = mode
    t.linkname = linkname
    t.mtime = MTIME
    t.size = size
    return t


class Zeros(io.RawIOBase):
    def __init__(self, n):
        self.n = n

    def readable(self):
        return True

    def readinto(self, b):
        k = min(len(b), self.n)
        b[:k] = bytes(k)
        self.n -= k
        return k


# ------------------------------------------------------------------------------------ good corpus
def make_source(src):
    """A small tree with every kind of object the unpacker keeps."""
    rnd = hashlib.sha256(b"seed").digest()
    big = b"".join(hashlib.sha256(rnd + i.to_bytes(4, "big")).digest() for i in range(40000))
    write(os.path.join(src, "README.txt"), b"Finnish speech sample set\n")
    write(os.path.join(src, "transcripts.tsv"), b"id\ttext\n1\thyv\xc3\xa4\xc3\xa4 huomenta\n" * 200)
    write(os.path.join(src, "audio", "fi_001.wav"), big)  # 1.25 MiB, incompressible
    write(os.path.join(src, "audio", "fi_002.wav"), big[:4096] + b"\0" * 70000)
    write(os.path.join(src, "audio", "empty.wav"), b"")
    write(os.path.join(src, "\u00e4\u00e4ni", "\u00e4iti.txt"), "äiti\n".encode())
    write(os.path.join(src, "bin", "prepare.sh"), b"#!/bin/sh\necho ok\n", 0o755)
    write(os.path.join(src, "readonly.txt"), b"do not edit\n", 0o444)
    os.makedirs(os.path.join(src, "empty-dir"))
    os.makedirs(os.path.join(src, "private"))
    write(os.path.join(src, "private", "notes.txt"), b"notes\n", 0o600)
    os.chmod(os.path.join(src, "private"), 0o750)
    os.symlink("../README.txt", os.path.join(src, "audio", "README.link"))
    os.symlink("audio", os.path.join(src, "audio-link"))
    os.link(os.path.join(src, "README.txt"), os.path.join(src, "bin", "README.hard"))
    for root, dirs, files in os.walk(src, topdown=False):
        for n in files + dirs:
            os.utime(os.path.join(root, n), (MTIME, MTIME), follow_symlinks=False)


def add_zip_tree(z, src, compression):
    for root, dirs, files in os.walk(src):
        dirs.sort()
        rel = os.path.relpath(root, src)
        for n in sorted(dirs):
            p = os.path.join(root, n)
            arc = os.path.normpath(os.path.join(rel, n))
            if os.path.islink(p):
                info = zipfile.ZipInfo(arc, (2023, 11, 14, 22, 13, 20))
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                z.writestr(info, os.readlink(p))
            else:
                z.write(p, arc + "/")
        for n in sorted(files):
            p = os.path.join(root, n)
            arc = os.path.normpath(os.path.join(rel, n))
            if os.path.islink(p):
                info = zipfile.ZipInfo(arc, (2023, 11, 14, 22, 13, 20))
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                z.writestr(info, os.readlink(p))
            else:
                z.write(p, arc, compress_type=compression)


def cmd_good(d):
    src = os.path.join(d, "src")
    out = os.path.join(d, "good")
    os.makedirs(out)
    make_source(src)
    made = []
    for fmt, fname in ((tarfile.GNU_FORMAT, "gnu"), (tarfile.PAX_FORMAT, "pax"),
                       (tarfile.USTAR_FORMAT, "ustar")):
        base = os.path.join(out, "data-%s.tar" % fname)
        with tarfile.open(base, "w", format=fmt) as t:
            for n in sorted(os.listdir(src)):
                t.add(os.path.join(src, n), arcname=n)
        made.append((os.path.basename(base), "hts"))
        with open(base, "rb") as f:
            data = f.read()
        with open(base + ".gz", "wb") as g:
            g.write(gzip.compress(data, 6))
        made.append((os.path.basename(base) + ".gz", "hts"))
        for tool in ("zst", "xz", "bz2"):
            tmp = base + ".tmp"
            with open(tmp, "wb") as g:
                g.write(data)
            os.rename(compress(tmp, tool), base + "." + tool)
            made.append((os.path.basename(base) + "." + tool, "hts"))
    # "tar -C src ." style: every name starts with "./" and the root entry is "./".
    p = os.path.join(out, "dotslash.tar.gz")
    with tarfile.open(p, "w:gz", format=tarfile.PAX_FORMAT) as t:
        t.add(src, arcname=".")
    made.append((os.path.basename(p), "hts"))
    for comp, name in ((zipfile.ZIP_DEFLATED, "data-deflate.zip"), (zipfile.ZIP_STORED,
                                                                    "data-stored.zip")):
        with zipfile.ZipFile(os.path.join(out, name), "w") as z:
            add_zip_tree(z, src, comp)
        made.append((name, "s"))
    # The extension lies: a zip named .tar.gz, a tar.xz named .zip. Format comes from content.
    os.link(os.path.join(out, "data-deflate.zip"), os.path.join(out, "zip-named.tar.gz"))
    made.append(("zip-named.tar.gz", "s"))
    os.link(os.path.join(out, "data-pax.tar.xz"), os.path.join(out, "tarxz-named.zip"))
    made.append(("tarxz-named.zip", "hts"))
    for name, flags in made:
        print(name, flags)


# --------------------------------------------------------------------------------- hostile corpus
def cmd_hostile(d):
    out = os.path.join(d, "hostile")
    os.makedirs(out)
    outside = os.path.abspath(d)  # absolute targets point into the test's own temp tree
    rows = []

    def tar(name, entries, expect, msg, opts="", fmt=tarfile.PAX_FORMAT, mode="w"):
        make_tar(os.path.join(out, name), entries, fmt, mode)
        rows.append((name, expect, msg, opts))

    ok = (ti("ok.txt"), b"fine\n")
    tar("dotdot.tar", [ok, (ti("../evil.txt"), b"x")], 11, "'..' in the name")
    tar("dotdot-deep.tar.gz", [(ti("a/b/../../../evil.txt"), b"x")], 11, "'..' in the name",
        mode="w:gz")
    tar("absolute.tar", [(ti(outside + "/abs-evil.txt"), b"x")], 11, "absolute path")
    tar("symlink-escape.tar", [(ti("link", tarfile.SYMTYPE, 0o777, "../outside"), None)], 11,
        "symbolic link pointing outside")
    tar("symlink-escape-deep.tar", [(ti("a/b/link", tarfile.SYMTYPE, 0o777, "../../../x"), None)],
        11, "symbolic link pointing outside")
    tar("symlink-absolute.tar", [(ti("link", tarfile.SYMTYPE, 0o777, outside), None)], 11,
        "symbolic link to an absolute path")
    # A symlink, then a file written through it (the classic two-step escape).
    tar("symlink-write-through.tar",
        [(ti("evil", tarfile.SYMTYPE, 0o777, outside), None), (ti("evil/pwned.txt"), b"x")], 11,
        "symbolic link to an absolute path")
    # Even a symlink that stays inside is never written through.
    tar("symlink-inside-write-through.tar",
        [(ti("sub", tarfile.DIRTYPE, 0o755), None), (ti("l", tarfile.SYMTYPE, 0o777, "sub"), None),
         (ti("l/file.txt"), b"x")], 11, "inside 'l', which is a symbolic link")
    tar("symlink-dotdot-chain.tar",
        [(ti("x/a", tarfile.SYMTYPE, 0o777, ".."), None),
         (ti("x/l", tarfile.SYMTYPE, 0o777, "a/../.."), None)], 11, "'..' after a name")
    tar("hardlink-outside.tar", [(ti("h", tarfile.LNKTYPE, 0o644, "../outside.txt"), None)], 11,
        "points outside the archive")
    tar("hardlink-absolute.tar", [(ti("h", tarfile.LNKTYPE, 0o644, "/etc/passwd"), None)], 11,
        "points outside the archive")
    tar("hardlink-forward.tar",
        [(ti("h", tarfile.LNKTYPE, 0o644, "later.txt"), None), (ti("later.txt"), b"x")], 11,
        "not a regular file unpacked before it")
    tar("hardlink-to-symlink.tar",
        [(ti("s", tarfile.SYMTYPE, 0o777, "ok.txt"), None), ok,
         (ti("h", tarfile.LNKTYPE, 0o644, "s"), None)], 11, "not a regular file unpacked")
    dev = ti("dev/null2", tarfile.CHRTYPE, 0o666)
    dev.devmajor, dev.devminor = 1, 3
    tar("chardev.tar", [ok, (dev, None)], 11, "refusing a character device")
    blk = ti("disk", tarfile.BLKTYPE, 0o660)
    blk.devmajor, blk.devminor = 8, 0
    tar("blockdev.tar", [(blk, None)], 11, "refusing a block device")
    tar("fifo.tar", [(ti("pipe", tarfile.FIFOTYPE, 0o644), None)], 11, "refusing a FIFO")
    tar("setuid.tar", [(ti("su", mode=0o4755), b"#!/bin/sh\n")], 11, "setuid bit")
    tar("setgid.tar", [(ti("sg", mode=0o2755), b"#!/bin/sh\n")], 11, "setgid bit")
    tar("sticky.tar", [(ti("tmp", tarfile.DIRTYPE, 0o1777), None)], 11, "sticky bit")
    tar("longname.tar", [(ti("d/" + "n" * 2000), b"x")], 11, "longer than the cap of 1024")
    tar("longcomponent.tar", [(ti("c" * 300), b"x")], 11, "longer than 255 bytes")
    tar("backslash.tar", [(ti("..\\..\\evil.txt"), b"x")], 11, "backslash in the name")
    tar("controlchar.tar", [(ti("bad\nname.txt"), b"x")], 11, "control character")
    tar("duplicate.tar", [ok, (ti("ok.txt"), b"second\n")], 11, "duplicate entry")
    tar("file-then-dir.tar", [ok, (ti("ok.txt", tarfile.DIRTYPE, 0o755), None)], 11,
        "duplicate entry")
    tar("file-as-dir.tar", [ok, (ti("ok.txt/inner.txt"), b"x")], 11,
        "inside 'ok.txt', which is a file")
    tar("marker.tar", [(ti(MARKER), b"{}")], 11, "reserved for the unpack marker")
    tar("cap-bytes.tar", [(ti("a.bin"), b"a" * 600000), (ti("b.bin"), b"b" * 600000)], 11,
        "more than 1048576 bytes", "--max-bytes 1M")
    tar("cap-entry-bytes.tar.gz", [(ti("a.bin"), b"a" * 2000)], 11, "over the cap of 1024",
        "--max-entry-bytes 1K", mode="w:gz")
    tar("cap-entries.tar", [(ti("f%d" % i), b"") for i in range(20)], 11, "more than 10 entries",
        "--max-entries 10")

    # Decompression bombs: 1 GiB of zeros in 33 KB (zstd), 256 MiB in about 1 MB (zip, gzip).
    n = 1 << 30
    with open(os.path.join(out, "bomb.tar.zst"), "wb") as f:
        p = subprocess.Popen(["zstd", "-q", "-3", "-c"], stdin=subprocess.PIPE, stdout=f)
        with tarfile.open(fileobj=p.stdin, mode="w|") as t:
            z = ti("zeros.bin")
            z.size = n
            t.addfile(z, Zeros(n))
        p.stdin.close()
        p.wait()
    rows.append(("bomb.tar.zst", 11, "likely decompression bomb", ""))
    with zipfile.ZipFile(os.path.join(out, "bomb.zip"), "w", zipfile.ZIP_DEFLATED,
                         compresslevel=1) as z:
        with z.open("zeros.bin", "w") as f:
            chunk = bytes(1 << 20)
            for _ in range(256):
                f.write(chunk)
    rows.append(("bomb.zip", 11, "likely decompression bomb", ""))

    # A header that declares 1 PiB (data cut off): refused for lack of space, caps lifted.
    for name, comp in (("nospace.tar", None), ("nospace.tar.gz", "gz")):
        h = ti("huge.bin")
        h.size = 1 << 50
        raw = h.tobuf(tarfile.GNU_FORMAT) + b"\0" * 4096
        path = os.path.join(out, name)
        if comp:
            with gzip.open(path, "wb") as g:
                g.write(raw)
        else:
            with open(path, "wb") as g:
                g.write(raw)
        rows.append((name, 7, "are free", "--max-bytes 0 --max-entry-bytes 0"))

    # Damaged archives.
    good = os.path.join(out, "good.tar")
    payload = hashlib.sha256(b"p").digest() * 8192  # 256 KiB
    make_tar(good, [ok, (ti("payload.bin"), payload), (ti("last.txt"), b"last\n")])
    with open(good, "rb") as f:
        data = f.read()
    os.unlink(good)
    with open(os.path.join(out, "truncated.tar"), "wb") as f:
        f.write(data[:len(data) // 2])
    rows.append(("truncated.tar", 11, "runcated", ""))
    gz = gzip.compress(data, 6)
    with open(os.path.join(out, "truncated.tar.gz"), "wb") as f:
        f.write(gz[:len(gz) // 2])
    rows.append(("truncated.tar.gz", 11, "payload.bin", ""))
    bad = bytearray(gz)
    for i in range(len(bad) // 3, len(bad) // 3 + 64):
        bad[i] ^= 0x5A
    with open(os.path.join(out, "corrupt.tar.gz"), "wb") as f:
        f.write(bytes(bad))
    rows.append(("corrupt.tar.gz", 11, "entry", ""))
    p = os.path.join(out, "corrupt.tar.xz.tmp")
    with open(p, "wb") as f:
        f.write(data)
    xz = compress(p, "xz")
    with open(xz, "rb") as f:
        bad = bytearray(f.read())
    os.unlink(xz)
    for i in range(len(bad) // 2, len(bad) // 2 + 16):
        bad[i] ^= 0xFF
    with open(os.path.join(out, "corrupt.tar.xz"), "wb") as f:
        f.write(bytes(bad))
    rows.append(("corrupt.tar.xz", 11, "orrupt", ""))
    with open(os.path.join(out, "garbage.zip"), "wb") as f:
        f.write(hashlib.sha512(b"garbage").digest() * 64)
    rows.append(("garbage.zip", 11, "not a tar or zip archive", ""))
    open(os.path.join(out, "empty.tar.gz"), "wb").close()
    rows.append(("empty.tar.gz", 11, "is empty", ""))

    # Zip-specific tricks.
    def zip_(name, items, expect, msg):
        with zipfile.ZipFile(os.path.join(out, name), "w") as z:
            for info, data in items:
                z.writestr(info, data)
        rows.append((name, expect, msg, ""))

    def zsym(name, target):
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        return info, target

    zip_("zip-dotdot.zip", [("ok.txt", b"x"), ("../evil.txt", b"x")], 11, "'..' in the name")
    zip_("zip-absolute.zip", [(outside + "/abs-evil.txt", b"x")], 11, "absolute path")
    # libarchive turns zip backslashes into slashes, so this one is caught as "..".
    zip_("zip-backslash.zip", [("..\\..\\evil.txt", b"x")], 11, "'..' in the name")
    zip_("zip-symlink-escape.zip", [zsym("link", outside)], 11, "absolute path")
    zip_("zip-symlink-write-through.zip", [zsym("l", "../.."), ("l/evil.txt", b"x")], 11,
         "symbolic link pointing outside")
    zip_("zip-duplicate.zip", [("a.txt", b"1"), ("a.txt", b"2")], 11, "duplicate entry")
    for name, expect, msg, opts in rows:
        print("%s\t%d\t%s\t%s" % (name, expect, msg, opts))


# ------------------------------------------------------------------------------------ many entries
def many_name(i):
    return "d%02d/f%06d.txt" % (i % 100, i)  # siblings interleaved: the writer's worst case


def cmd_many(d, n):
    with tarfile.open(os.path.join(d, "many.tar"), "w", format=tarfile.GNU_FORMAT) as t:
        for i in range(n):
            data = b"%d\n" % i
            info = ti(many_name(i))
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    with open(os.path.join(d, "many.tar"), "rb") as f, \
            open(os.path.join(d, "many.tar.gz"), "wb") as g:
        g.write(gzip.compress(f.read(), 1))


def cmd_check_many(dest, n):
    """Exit 0 when dest holds exactly the n files of cmd_many (+ the marker), intact."""
    want = {many_name(i): b"%d\n" % i for i in range(n)}
    seen = 0
    for dirpath, dirs, files in os.walk(dest):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), dest)
            if rel == MARKER:
                continue
            with open(os.path.join(dirpath, f), "rb") as h:
                if want.get(rel) != h.read():
                    print("unexpected or wrong file: " + rel, file=sys.stderr)
                    return 1
            if int(os.stat(os.path.join(dirpath, f)).st_mtime) != MTIME:
                print("mtime differs: " + rel, file=sys.stderr)
                return 1
            seen += 1
    if seen != n:
        print("found %d files, want %d" % (seen, n), file=sys.stderr)
        return 1
    return 0


# -------------------------------------------------------------------------------- listing, compare
def listing(root):
    lines = []
    for dirpath, dirs, files in os.walk(root):
        for n in sorted(dirs) + sorted(files):
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st.st_mode):
                what = "l -> " + os.readlink(p)
            elif stat.S_ISDIR(st.st_mode):
                what = "d"
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    what = "f %d %s" % (st.st_size, hashlib.sha256(f.read()).hexdigest())
            else:
                what = "? %o" % stat.S_IFMT(st.st_mode)
            lines.append("%s %04o %s" % (rel, stat.S_IMODE(st.st_mode), what))
    return sorted(lines)


def cmd_compare(src, dest, flags):
    um = os.umask(0)
    os.umask(um)
    errors = []

    def walk(root):
        out = {}
        for dirpath, dirs, files in os.walk(root):
            for n in dirs + files:
                p = os.path.join(dirpath, n)
                out[os.path.relpath(p, root)] = os.lstat(p)
        return out

    a, b = walk(src), walk(dest)
    b.pop(MARKER, None)
    for rel in sorted(set(a) | set(b)):
        if rel not in b:
            errors.append("missing in dest: " + rel)
            continue
        if rel not in a:
            errors.append("extra in dest: " + rel)
            continue
        sa, sb = a[rel], b[rel]
        pa, pb = os.path.join(src, rel), os.path.join(dest, rel)
        if stat.S_IFMT(sa.st_mode) != stat.S_IFMT(sb.st_mode):
            if "s" not in flags and stat.S_ISLNK(sa.st_mode):
                continue
            errors.append("type differs: " + rel)
            continue
        if stat.S_ISLNK(sa.st_mode):
            if os.readlink(pa) != os.readlink(pb):
                errors.append("symlink target differs: " + rel)
            continue
        want = stat.S_IMODE(sa.st_mode) & ~um
        if stat.S_IMODE(sb.st_mode) != want:
            errors.append("mode of %s: %04o, want %04o" % (rel, stat.S_IMODE(sb.st_mode), want))
        if stat.S_ISREG(sa.st_mode):
            with open(pa, "rb") as f, open(pb, "rb") as g:
                if f.read() != g.read():
                    errors.append("content differs: " + rel)
            if "t" in flags and int(sa.st_mtime) != int(sb.st_mtime):
                errors.append("mtime differs: " + rel)
    if "h" in flags:
        groups = {}
        for rel, st in a.items():
            if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                groups.setdefault(st.st_ino, []).append(rel)
        for rels in groups.values():
            inos = {b[r].st_ino for r in rels if r in b}
            if len(inos) != 1:
                errors.append("hard links not kept: " + " ".join(sorted(rels)))
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "good":
        cmd_good(argv[2])
    elif cmd == "hostile":
        cmd_hostile(argv[2])
    elif cmd == "many":
        cmd_many(argv[2], int(argv[3]))
    elif cmd == "check-many":
        return cmd_check_many(argv[2], int(argv[3]))
    elif cmd == "listing":
        print("\n".join(listing(argv[2])))
    elif cmd == "compare":
        return cmd_compare(argv[2], argv[3], argv[4] if len(argv) > 4 else "")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
