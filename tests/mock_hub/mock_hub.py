#!/usr/bin/env python3
"""A loopback mock of the Hugging Face Hub and its CDN, for tests of `bootstrap`.

It imitates what huggingface.co does for logins and downloads closely enough that a
client which works against it should work against the real Hub (the protocol notes,
hub-protocol.md sections 2-4 and its "faithful mock server" checklist):

  * two origins in one process, each a threaded HTTP/1.1 server with keep-alive on
    127.0.0.1: the *Hub* (API, /resolve/ URLs, control API under /_mock/) and a *CDN*
    that serves LFS blobs behind signed, expiring URLs, the way the real Hub sends
    large files to a CloudFront/Xet bridge;
  * whoami-v2, repo info, tree listing with Link pagination, refs, paths-info, and
    /resolve/ with the exact headers, redirects and error shapes of the real Hub;
  * scripted faults (5xx, dropped connections, slow bodies, wrong lengths, corrupted
    bytes, changing ETags, redirect loops, ...) installed from the config or at run
    time, so tests can drive a client through every failure path;
  * a request log (JSON lines) and byte counters, so tests can assert what was
    fetched, with which headers, and that tokens never reached the CDN.

What it must not do: talk to anything but 127.0.0.1, use modules outside the Python
standard library, or ever hold a real token (the tokens it knows are random test
strings written by --make-config).  It is a test tool, not a Hub: there is no
upload, no Xet CAS (no X-Xet-* headers, no xetHash), no persistence of run-time
changes.

Usage (docs/mock-hub.md has the details):
  mock_hub.py --config CONFIG.json --port-file F [--tls-dir DIR [--tls-wrong-name]]
              [--log FILE] [--data-dir DIR] [--faults SCENARIO.json] [--wait-ready]
  mock_hub.py --make-config fake-model OUT.json [--model-size N] [--codec-size N]
  mock_hub.py --print-manifest --config CONFIG.json [--data-dir DIR]
"""

import argparse
import base64
import copy
import fcntl
import gzip
import hashlib
import hmac
import io
import json
import math
import os
import queue
import random
import re
import secrets
import shutil
import signal
import socketserver
import ssl
import string
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
import urllib.parse
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KiB = 1 << 10
MiB = 1 << 20

# Files matching these suffixes are stored in Git LFS by default (a subset of the
# .gitattributes that the Hub writes into new repos), as are files of 10 MiB or more.
LFS_SUFFIXES = (
    ".7z", ".arrow", ".bin", ".bz2", ".ckpt", ".ftz", ".gz", ".h5", ".joblib", ".mlmodel",
    ".model", ".msgpack", ".npy", ".npz", ".onnx", ".ot", ".parquet", ".pb", ".pickle",
    ".pkl", ".pt", ".pth", ".rar", ".safetensors", ".tar", ".tflite", ".tgz", ".wasm",
    ".xz", ".zip", ".zst",
)
LFS_MIN_SIZE = 10 * MiB

INVALID_CREDS = "Invalid credentials in Authorization header"
ANON_DENIED = "Invalid username or password."
DISABLED_MSG = "Access to this resource is disabled."
NOT_FOUND_MSG = "Sorry, we can't find the page you are looking for."
WWW_AUTH = 'Bearer realm="Authentication required", charset="UTF-8"'
EXPOSE_HEADERS = ("X-Repo-Commit,X-Request-Id,X-Error-Code,X-Error-Message,X-Total-Count,"
                  "ETag,Link,Accept-Ranges,Content-Range,X-Linked-Size,X-Linked-ETag")
LAST_MODIFIED = "Sun, 01 Jun 2025 12:00:00 GMT"
DEFAULT_DATE = "2025-06-01T12:00:00.000Z"

REPO_TYPES = ("model", "dataset", "space", "kernel")
# URL prefix of each repo type in /resolve/ URLs (models have none).
TYPE_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/", "kernel": "kernels/"}
API_SUBRESOURCES = ("revision", "tree", "refs", "paths-info", "xet-read-token", "commits")
HEX40 = re.compile(r"^[0-9a-f]{40}$")

# Run-time options: config keys of the same name set them at start, POST /_mock/set
# changes them while running.
DEFAULT_OPTIONS = {
    "cdn_rate_bps": 0,             # per-connection pacing of CDN bodies; 0 = unlimited
    "small_file_threshold": 0,     # LFS files smaller than this are served by the Hub itself
    "tree_page_size": 1000,        # tree entries per page (the Hub uses 1000)
    "tree_page_size_expand": 50,   # ... and 50 with expand=true
    "cdn_url_ttl": 3600,           # seconds a signed CDN URL stays valid (<0: already expired)
    "cdn_host": "127.0.0.1",       # host name written into CDN Locations
    "cdn_check_signature": True,   # 403 on a tampered or expired CDN URL, like S3/CloudFront
    "cdn_reject_auth": False,      # 400 when Authorization reaches the CDN (what S3 does)
    "small_file_redirect": False,  # 307 small files to /api/resolve-cache/... like the live Hub
    "gzip_text": False,            # gzip + chunked for non-LFS files when the GET allows gzip
    "resolve_error_body": "text",  # body of /resolve/ errors: "text" (live Hub) or "json"
}

# Every key a fault action may carry (validated when a fault script is installed).
ACTION_KEYS = {
    "ok", "status", "retry_after", "headers", "body", "error_code", "error_message",
    "close_after_bytes", "close_before_headers", "delay_ms", "drip_bps", "ignore_range",
    "wrong_content_length", "corrupt_byte_at", "etag_change", "redirect_loop",
    "redirect_to", "redirect_status", "status_416", "require_token", "omit_headers",
}


class ConfigError(Exception):
    """A config, fault script or control request that cannot be used."""


# ---------------------------------------------------------------------------
# Small helpers

def json_bytes(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def git_blob_sha1(size, chunks):
    """Git's blob id: sha1("blob <len>\\0" + content)."""
    h = hashlib.sha1(b"blob %d\0" % size)
    for c in chunks:
        h.update(c)
    return h.hexdigest()


def lfs_pointer(sha256, size):
    return ("version https://git-lfs.github.com/spec/v1\n"
            f"oid sha256:{sha256}\nsize {size}\n").encode("ascii")


def derive_commit(repo_type, repo_id, label):
    """A stable 40-hex commit id for a commit that the config names by label."""
    return hashlib.sha1(f"mock-hub commit\0{repo_type}\0{repo_id}\0{label}".encode()).hexdigest()


def object_id(*parts):
    """A 24-hex id in the style of the Hub's Mongo ids (_id, avatar ids, ...)."""
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:24]


def parse_size(text):
    """'24M', '300K', '1G', '1234' -> bytes (binary units)."""
    m = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)(?:i?[bB])?\s*", str(text))
    if not m:
        raise ConfigError(f"bad size '{text}'")
    return int(m.group(1)) * {"": 1, "k": KiB, "m": MiB, "g": 1 << 30}[m.group(2).lower()]


def qbool(value):
    return str(value).lower() in ("1", "true", "yes", "on")


def new_request_id():
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def content_disposition(name, kind="inline"):
    return f"{kind}; filename*=UTF-8''{urllib.parse.quote(name)}; filename=\"{name}\";"


def check_rel_path(path):
    if (not isinstance(path, str) or not path or path.startswith("/") or "\0" in path
            or any(seg in ("", ".", "..") for seg in path.split("/"))):
        raise ConfigError(f"bad file path {path!r}")
    return path


def parse_range(value, size):
    """Parse a Range header against a body of `size` bytes.

    Returns None when the header is to be ignored (absent, another unit, several
    ranges, malformed: RFC 9110 lets a server answer those with 200), "unsat" when no
    byte of the range exists (416), else (first, last) inclusive, clamped to the size.
    """
    if not value:
        return None
    value = value.strip()
    if not value.lower().startswith("bytes="):
        return None
    spec = value[6:].strip()
    if "," in spec:
        return None
    m = re.fullmatch(r"(\d*)\s*-\s*(\d*)", spec)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    if m.group(1) == "":                       # suffix range: the last n bytes
        n = int(m.group(2))
        if n == 0 or size == 0:
            return "unsat"
        return (max(0, size - n), size - 1)
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else None
    if last is not None and last < first:
        return None                            # syntactically invalid: ignore the header
    if first >= size:
        return "unsat"
    if last is None:
        last = size - 1
    return (first, min(last, size - 1))


# ---------------------------------------------------------------------------
# Content: blobs generated from seeds or given inline, cached as files for sendfile

class Blob:
    """One file content.  Seeded content is random.Random(seed).randbytes(size),
    written once into the data dir (so bodies can go out with sendfile) and hashed
    once; inline content (text/base64) is written there too."""

    def __init__(self, store, key, size, seed=None, data=None, src_path=None, is_text=False):
        self.store = store
        self.key = key
        self.size = size
        self.seed = seed
        self.data = data
        self.src_path = src_path
        self.is_text = is_text
        self.path = src_path
        self.sha256 = None
        self.git_sha1 = None
        self._lock = threading.Lock()

    def ensure(self):
        """Generate (if needed) and hash the content; cheap after the first call."""
        if self.sha256 is not None:
            return self
        with self._lock:
            if self.sha256 is None:
                self._materialise()
                self.store.register(self)
        return self

    def _materialise(self):
        if self.src_path is not None:
            self.size = os.path.getsize(self.src_path)
            self.sha256, self.git_sha1 = self.store.hash_file(self.src_path, self.size)
            return
        fname = "blob-" + hashlib.sha256(self.key.encode()).hexdigest()[:32]
        path = os.path.join(self.store.data_dir, fname + ".bin")
        side = os.path.join(self.store.data_dir, fname + ".json")
        try:
            with open(side) as f:
                meta = json.load(f)
            if meta.get("size") == self.size and os.path.getsize(path) == self.size:
                self.path, self.sha256, self.git_sha1 = path, meta["sha256"], meta["git_sha1"]
                return
        except (OSError, ValueError, KeyError):
            pass
        # Write under a temporary name, then rename: several mocks may share a data dir.
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        h256 = hashlib.sha256()
        h1 = hashlib.sha1(b"blob %d\0" % self.size)
        with open(tmp, "wb") as f:
            # hashlib and file writes release the GIL: run them beside the generator
            pipeline([lambda c: (h256.update(c), h1.update(c)), f.write], self._chunks())
        os.replace(tmp, path)
        self.path, self.sha256, self.git_sha1 = path, h256.hexdigest(), h1.hexdigest()
        meta = {"key": self.key, "size": self.size, "sha256": self.sha256, "git_sha1": self.git_sha1}
        with open(side + f".{os.getpid()}.tmp", "w") as f:
            json.dump(meta, f)
        os.replace(side + f".{os.getpid()}.tmp", side)

    def _chunks(self):
        if self.data is not None:
            yield self.data
            return
        # randbytes(a) + randbytes(b) == randbytes(a + b) when a is a multiple of 4, so
        # 64 KiB pieces (the fastest size) give exactly Random(seed).randbytes(size).
        rng = random.Random(self.seed)
        left = self.size
        while left > 0:
            n = min(MiB, left)
            yield b"".join(rng.randbytes(min(64 * KiB, n - i)) for i in range(0, n, 64 * KiB))
            left -= n

    def read_all(self):
        self.ensure()
        with open(self.path, "rb") as f:
            return f.read()


def pipeline(consumers, chunks, depth=8):
    """Feed every chunk to every consumer, each consumer in its own thread."""
    queues = [queue.Queue(depth) for _ in consumers]
    errors = []

    def run(fn, q):
        while True:
            c = q.get()
            if c is None:
                return
            if not errors:
                try:
                    fn(c)
                except Exception as e:          # reported after the join
                    errors.append(e)
    threads = [threading.Thread(target=run, args=(fn, q), daemon=True)
               for fn, q in zip(consumers, queues)]
    for t in threads:
        t.start()
    try:
        for c in chunks:
            for q in queues:
                q.put(c)
            if errors:
                break
    finally:
        for q in queues:
            q.put(None)
        for t in threads:
            t.join()
    if errors:
        raise errors[0]


class BlobStore:
    """All blobs, their data files, the sha256 -> blob index the CDN serves from,
    and the overrides installed by the etag_change fault."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.lock = threading.RLock()
        self.blobs = {}          # key -> Blob
        self.by_sha = {}         # sha256 -> Blob (filled as blobs are hashed)
        self.overrides = {}      # Blob.key -> Blob that replaced it (etag_change)
        self.variants = 0

    def _get(self, key, make):
        with self.lock:
            b = self.blobs.get(key)
            if b is None:
                b = self.blobs[key] = make()
            return b

    def seeded(self, seed, size):
        key = f"seed:{seed!r}:{size}"
        return self._get(key, lambda: Blob(self, key, size, seed=seed))

    def inline(self, data, is_text=False):
        key = "data:" + hashlib.sha256(data).hexdigest()
        return self._get(key, lambda: Blob(self, key, len(data), data=data, is_text=is_text))

    def external(self, path):
        path = os.path.abspath(path)
        key = "file:" + path
        return self._get(key, lambda: Blob(self, key, os.path.getsize(path), src_path=path))

    def register(self, blob):
        with self.lock:
            self.by_sha.setdefault(blob.sha256, blob)

    def effective(self, blob):
        """The blob currently served in place of `blob` (itself unless etag_change hit it)."""
        with self.lock:
            seen = 0
            while blob.key in self.overrides and seen < 1000:
                blob = self.overrides[blob.key]
                seen += 1
            return blob

    def change(self, blob):
        """etag_change: from now on serve different content (same size) for `blob`."""
        with self.lock:
            cur = self.effective(blob)
            self.variants += 1
            n = self.variants
            if cur.seed is not None:
                new = self.seeded(f"{cur.seed!r}+etag_change{n}", cur.size)
            else:
                data = bytearray(cur.read_all())
                if not data:
                    data = bytearray(b"\n")
                else:
                    # flip the case of the first letter, else one bit of the first byte:
                    # same size, text stays text, hashes change
                    i = next((k for k, c in enumerate(data) if chr(c).isalpha()), 0)
                    data[i] ^= 0x20 if chr(data[i]).isalpha() else 0x01
                # a key of its own: content may repeat after two flips, identities must not
                key = f"variant{n}:{cur.key}"
                new = self._get(key, lambda: Blob(self, key, len(data), data=bytes(data),
                                                  is_text=cur.is_text))
            self.overrides[cur.key] = new
        return new.ensure()

    @staticmethod
    def hash_file(path, size):
        h256 = hashlib.sha256()
        h1 = hashlib.sha1(b"blob %d\0" % size)
        with open(path, "rb") as f:
            while True:
                c = f.read(MiB)
                if not c:
                    break
                h256.update(c)
                h1.update(c)
        return h256.hexdigest(), h1.hexdigest()


# ---------------------------------------------------------------------------
# Repositories

class FileEntry:
    def __init__(self, path, blob, lfs):
        self.path = path
        self.blob = blob
        self.lfs = lfs


class Commit:
    def __init__(self, sha, files, title, date, parent=None):
        self.sha = sha
        self.files = dict(sorted(files.items()))   # path -> FileEntry
        self.title = title
        self.date = date
        self.parent = parent

    def dirs(self):
        out = set()
        for p in self.files:
            parts = p.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                out.add("/".join(parts[:i]))
        return out


class Repo:
    def __init__(self, rtype, rid):
        self.type = rtype
        self.id = rid
        self.oid = object_id("repo", rtype, rid)
        self.gated = False
        self.private = False
        self.disabled = False
        self.branches = {}
        self.tags = {}
        self.prs = {}
        self.commits = {}
        self.default_branch = "main"
        self.card = {}
        self.created_at = DEFAULT_DATE

    @property
    def namespace(self):
        return self.id.split("/")[0] if "/" in self.id else None

    def resolve(self, rev):
        """Revision (branch, tag, refs/..., HEAD, full or >= 7-hex short sha) -> Commit."""
        sha = None
        if rev == "HEAD":
            sha = self.branches.get(self.default_branch)
        elif rev in self.branches:
            sha = self.branches[rev]
        elif rev in self.tags:
            sha = self.tags[rev]
        elif rev.startswith("refs/heads/"):
            sha = self.branches.get(rev[len("refs/heads/"):])
        elif rev.startswith("refs/tags/"):
            sha = self.tags.get(rev[len("refs/tags/"):])
        elif rev.startswith("refs/pr/"):
            sha = self.prs.get(rev[len("refs/pr/"):])
        elif re.fullmatch(r"[0-9a-f]{7,40}", rev):
            hits = [c for c in self.commits if c.startswith(rev)]
            sha = hits[0] if len(hits) == 1 else None
        return self.commits.get(sha) if sha else None


# ---------------------------------------------------------------------------
# Fault scripts

class FaultEngine:
    """Rules {match, sequence, then}: the n-th request matching a rule gets the n-th
    action of its sequence; after the sequence the last action repeats, or with
    "then": "ok" requests are served normally.  The first matching rule wins."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    @staticmethod
    def _check_rule(rule):
        if not isinstance(rule, dict):
            raise ConfigError("a fault rule must be an object")
        extra = set(rule) - {"match", "sequence", "then", "name", "comment"}
        if extra:
            raise ConfigError(f"unknown fault rule key(s): {sorted(extra)}")
        match = rule.get("match", {}) or {}
        extra = set(match) - {"origin", "method", "path_regex", "file", "range"}
        if extra:
            raise ConfigError(f"unknown match key(s): {sorted(extra)}")
        if match.get("origin") not in (None, "hub", "cdn"):
            raise ConfigError("match.origin must be 'hub' or 'cdn'")
        try:
            rx = re.compile(match["path_regex"]) if match.get("path_regex") else None
            frx = re.compile(match["file"]) if match.get("file") else None
        except re.error as e:
            raise ConfigError(f"bad regex in match: {e}") from None
        seq = rule.get("sequence")
        if isinstance(seq, dict):
            seq = [seq]
        if not isinstance(seq, list) or not seq:
            raise ConfigError("a fault rule needs a non-empty 'sequence' list")
        for act in seq:
            if not isinstance(act, dict) or not act:
                raise ConfigError("each action must be a non-empty object")
            bad = set(act) - ACTION_KEYS
            if bad:
                raise ConfigError(f"unknown fault action key(s): {sorted(bad)}")
        if rule.get("then", "repeat") not in ("repeat", "ok"):
            raise ConfigError("'then' must be 'ok' or 'repeat'")
        methods = match.get("method")
        if isinstance(methods, str):
            methods = [methods]
        return {"name": rule.get("name"), "match": match, "rx": rx, "frx": frx,
                "methods": [m.upper() for m in methods] if methods else None,
                "sequence": seq, "then": rule.get("then", "repeat"), "hits": 0}

    def install(self, rules, append=False):
        if isinstance(rules, dict):
            extra = set(rules) - {"rules", "options", "comment", "name"}
            if extra:
                raise ConfigError(f"unknown fault script key(s): {sorted(extra)}")
            rules = rules.get("rules", [])
        if not isinstance(rules, list):
            raise ConfigError("faults must be a list of rules")
        compiled = [self._check_rule(r) for r in rules]
        with self.lock:
            self.rules = (self.rules if append else []) + compiled
        return len(compiled)

    def next_action(self, origin, method, path, has_range, files_fn):
        """The action for this request, or None.  `files_fn()` lists the repo file
        paths the request is about (only called when a rule matches on "file")."""
        with self.lock:
            for r in self.rules:
                m = r["match"]
                if m.get("origin") and m["origin"] != origin:
                    continue
                if r["methods"] and method not in r["methods"]:
                    continue
                if r["rx"] and not r["rx"].search(path):
                    continue
                if "range" in m and bool(m["range"]) != has_range:
                    continue
                if r["frx"] and not any(r["frx"].search(f) for f in files_fn()):
                    continue
                n = r["hits"]
                r["hits"] += 1
                if n < len(r["sequence"]):
                    act = r["sequence"][n]
                elif r["then"] == "ok":
                    return None
                else:
                    act = r["sequence"][-1]
                return None if act.get("ok") and len(act) == 1 else act
        return None

    def describe(self):
        with self.lock:
            return [{"name": r["name"], "match": r["match"], "sequence": r["sequence"],
                     "then": r["then"], "hits": r["hits"]} for r in self.rules]


# ---------------------------------------------------------------------------
# Request log and counters

class RequestLog:
    def __init__(self, path, verbose=False):
        self.lock = threading.Lock()
        self.entries = []
        self.seq = 0
        self.conn_seq = 0
        self.file = open(path, "a", encoding="utf-8") if path else None
        self.verbose = verbose
        self.reset_stats()

    def reset_stats(self):
        with self.lock:
            self.stats = {"requests": {}, "bytes": {}, "connections": {}, "status": {},
                          "paths": {}, "blobs": {}}

    def reset_log(self):
        with self.lock:
            self.entries = []

    def new_connection(self, origin):
        with self.lock:
            self.conn_seq += 1
            c = self.stats["connections"]
            c[origin] = c.get(origin, 0) + 1
            return self.conn_seq

    def add(self, rec, blob_sha=None):
        with self.lock:
            self.seq += 1
            rec = {"seq": self.seq, **rec}
            self.entries.append(rec)
            st = self.stats
            o = rec["origin"]
            st["requests"][o] = st["requests"].get(o, 0) + 1
            st["bytes"][o] = st["bytes"].get(o, 0) + rec["bytes"]
            k = str(rec["status"])
            st["status"][k] = st["status"].get(k, 0) + 1
            pkey = f"{o} {rec['path'].split('?', 1)[0]}"
            p = st["paths"].setdefault(pkey, {"requests": 0, "bytes": 0})
            p["requests"] += 1
            p["bytes"] += rec["bytes"]
            if blob_sha:
                b = st["blobs"].setdefault(blob_sha, {"requests": 0, "bytes": 0})
                b["requests"] += 1
                b["bytes"] += rec["bytes"]
            line = json.dumps(rec, ensure_ascii=False)
            if self.file:
                self.file.write(line + "\n")
                self.file.flush()
            if self.verbose:
                sys.stderr.write(line + "\n")

    def lines(self, since=0):
        with self.lock:
            return [e for e in self.entries if e["seq"] > since]

    def snapshot_stats(self):
        with self.lock:
            return copy.deepcopy(self.stats)


# ---------------------------------------------------------------------------
# The mock's state: repos, tokens, options, content

class MockHub:
    def __init__(self, config, config_dir, data_dir, log_path=None, verbose=False):
        self.lock = threading.RLock()
        self.config_dir = config_dir
        self.store = BlobStore(data_dir)
        self.log = RequestLog(log_path, verbose)
        self.faults = FaultEngine()
        self.secret = secrets.token_bytes(16)   # signs CDN URLs
        self.scheme = "http"
        self.ports = {"hub": 0, "cdn": 0}
        self.options = dict(DEFAULT_OPTIONS)
        self.repos = {}        # (type, id) -> Repo
        self.renames = {}      # old id -> new id
        self.tokens = {}       # token -> info dict
        self.load(config)

    # -- config ---------------------------------------------------------------

    def load(self, cfg):
        if not isinstance(cfg, dict):
            raise ConfigError("config must be a JSON object")
        for k, v in cfg.items():
            if k in DEFAULT_OPTIONS:
                self.set_option(k, v)
        for r in cfg.get("repos", []):
            repo = self.parse_repo(r)
            self.repos[(repo.type, repo.id)] = repo
        self.renames = dict(cfg.get("renames", {}))
        for tok, info in cfg.get("tokens", {}).items():
            self.add_token(tok, info)
        self.install_faults(cfg.get("faults", []))

    def install_faults(self, doc, append=False):
        """A fault script: a list of rules, or {"rules": [...], "options": {...}}
        (a scenario file; its options are applied too)."""
        n = self.faults.install(doc, append)      # validates before options change
        if isinstance(doc, dict):
            for k, v in (doc.get("options") or {}).items():
                self.set_option(k, v)
        return n

    def set_option(self, key, value):
        if key not in DEFAULT_OPTIONS:
            raise ConfigError(f"unknown option '{key}'")
        kind = type(DEFAULT_OPTIONS[key])
        if kind is bool:
            value = value if isinstance(value, bool) else qbool(value)
        elif kind is int:
            value = int(value)
        else:
            value = str(value)
        if key == "resolve_error_body" and value not in ("text", "json"):
            raise ConfigError("resolve_error_body must be 'text' or 'json'")
        self.options[key] = value

    def add_token(self, tok, info):
        if not isinstance(info, dict) or not info.get("user"):
            raise ConfigError("a token needs at least {'user': NAME}")
        role = info.get("role", "read")
        if role not in ("read", "write", "fineGrained", "admin", "contributor"):
            raise ConfigError(f"unknown token role '{role}'")
        t = dict(info)
        t["role"] = role
        t["granted"] = set(info.get("granted", []))
        with self.lock:
            self.tokens[tok] = t

    def file_entry(self, spec):
        if not isinstance(spec, dict):
            raise ConfigError("a file must be an object")
        path = check_rel_path(spec.get("path"))
        if "text" in spec:
            blob = self.store.inline(str(spec["text"]).encode("utf-8"), is_text=True)
        elif "base64" in spec:
            blob = self.store.inline(base64.b64decode(spec["base64"]))
        elif "file" in spec:
            src = spec["file"]
            if not os.path.isabs(src):
                src = os.path.join(self.config_dir, src)
            blob = self.store.external(src)
        elif "size" in spec:
            blob = self.store.seeded(spec.get("seed", path), parse_size(spec["size"]))
        else:
            raise ConfigError(f"file {path}: give one of text, base64, file or size(+seed)")
        lfs = spec.get("lfs")
        if lfs is None:
            lfs = blob.size >= LFS_MIN_SIZE or path.lower().endswith(LFS_SUFFIXES)
        return FileEntry(path, blob, bool(lfs))

    def make_commit(self, repo, key, spec, parent=None):
        """Build a commit from {files, parent, title, date}; files overlay the parent's
        ({path, delete: true} removes one)."""
        files = dict(parent.files) if parent else {}
        for f in spec.get("files", []):
            if f.get("delete"):
                files.pop(check_rel_path(f.get("path")), None)
            else:
                e = self.file_entry(f)
                files[e.path] = e
        sha = key if HEX40.match(key) else derive_commit(repo.type, repo.id, key)
        return Commit(sha, files, spec.get("title", "Update files"),
                      spec.get("date", DEFAULT_DATE), parent.sha if parent else None)

    def parse_repo(self, r):
        rid = r.get("id")
        if not isinstance(rid, str) or not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", rid):
            raise ConfigError(f"bad repo id {rid!r}")
        rtype = r.get("type", "model")
        if rtype.endswith("s") and rtype[:-1] in REPO_TYPES:
            rtype = rtype[:-1]
        if rtype not in REPO_TYPES:
            raise ConfigError(f"repo {rid}: unknown type {rtype!r}")
        repo = Repo(rtype, rid)
        repo.gated = r.get("gated", False)
        if repo.gated not in (False, "manual", "auto"):
            raise ConfigError(f"repo {rid}: gated must be false, 'manual' or 'auto'")
        repo.private = bool(r.get("private", False))
        repo.disabled = bool(r.get("disabled", False))
        repo.card = r.get("card", {})
        repo.created_at = r.get("created_at", DEFAULT_DATE)
        commits = dict(r.get("commits", {}))
        if not commits:
            commits = {"initial": {"files": r.get("files", []), "title": "Initial commit"}}
        label_to_sha = {k: (k if HEX40.match(k) else derive_commit(rtype, rid, k)) for k in commits}
        pending = dict(commits)
        while pending:               # build parents before children
            progress = False
            for key, spec in list(pending.items()):
                pkey = spec.get("parent")
                psha = label_to_sha.get(pkey, pkey) if pkey else None
                if psha and psha not in repo.commits:
                    continue
                c = self.make_commit(repo, key, spec, repo.commits.get(psha) if psha else None)
                repo.commits[c.sha] = c
                del pending[key]
                progress = True
            if not progress:
                raise ConfigError(f"repo {rid}: commit parents form a cycle or are missing")

        def ref(v):
            sha = label_to_sha.get(v, v)
            if sha not in repo.commits:
                raise ConfigError(f"repo {rid}: ref points at unknown commit {v!r}")
            return sha
        # without branches, main points at the last commit listed
        branches = r.get("branches") or {"main": list(commits)[-1]}
        repo.branches = {k: ref(v) for k, v in branches.items()}
        repo.tags = {k: ref(v) for k, v in r.get("tags", {}).items()}
        repo.prs = {str(k): ref(v) for k, v in r.get("prs", {}).items()}
        repo.default_branch = r.get("default_branch", "main")
        if repo.default_branch not in repo.branches:
            raise ConfigError(f"repo {rid}: no branch '{repo.default_branch}'")
        return repo

    def prewarm(self):
        """Generate and hash every blob of every commit (in the background at start)."""
        for repo in list(self.repos.values()):
            for c in list(repo.commits.values()):
                for e in list(c.files.values()):
                    self.store.effective(e.blob).ensure()

    # -- lookups --------------------------------------------------------------

    def paths_for_sha(self, sha):
        """Repo paths of every file whose content is (or was, before etag_change) `sha`."""
        out = set()
        for repo in list(self.repos.values()):
            for c in list(repo.commits.values()):
                for e in list(c.files.values()):
                    if sha in (e.blob.sha256, self.store.effective(e.blob).sha256):
                        out.add(e.path)
        return sorted(out)

    def known(self, rtype, rid):
        return (rtype, rid) in self.repos or rid in self.renames

    def get_repo(self, rtype, rid):
        return self.repos.get((rtype, rid))

    def token_info(self, tok):
        with self.lock:
            return self.tokens.get(tok)

    @staticmethod
    def can_see_private(info, repo):
        if info is None:
            return False
        return (repo.namespace == info["user"] or repo.namespace in info.get("orgs", [])
                or repo.id in info["granted"])

    @staticmethod
    def granted(info, repo):
        return info is not None and repo.id in info["granted"]

    def file_meta(self, entry):
        """Everything the API says about one file, from the blob currently served."""
        b = self.store.effective(entry.blob).ensure()
        m = {"path": entry.path, "size": b.size, "sha256": b.sha256, "git_sha1": b.git_sha1,
             "lfs": entry.lfs, "blob": b}
        if entry.lfs:
            ptr = lfs_pointer(b.sha256, b.size)
            m["pointer_size"] = len(ptr)
            m["oid"] = git_blob_sha1(len(ptr), [ptr])
            m["etag"] = b.sha256
        else:
            m["oid"] = b.git_sha1
            m["etag"] = b.git_sha1
        return m

    def cdn_url(self, repo, blob, filename, scheme):
        ttl = self.options["cdn_url_ttl"]
        now = time.time()
        expires = int(now) + ttl
        path = f"/xet-bridge-us/{repo.oid}/{blob.sha256}"
        disp = content_disposition(filename)
        sig = self.sign(path, str(expires), disp)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        q = urllib.parse.urlencode([
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
            ("X-Amz-Credential", f"MOCKCDNKEY/{stamp[:8]}/us-east-1/s3/aws4_request"),
            ("X-Amz-Date", stamp),
            ("X-Amz-Expires", str(ttl)),
            ("X-Amz-Signature", sig),
            ("X-Amz-SignedHeaders", "host"),
            ("response-content-disposition", disp),
            ("x-id", "GetObject"),
            ("Expires", str(expires)),
        ])
        return f"{scheme}://{self.options['cdn_host']}:{self.ports['cdn']}{path}?{q}"

    def sign(self, *parts):
        return hmac.new(self.secret, "\n".join(parts).encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def cdn_etag(blob):
        """The CDN's own ETag imitates a Xet hash: 64 hex, but not the sha256, which is
        why clients must key on the Hub's X-Linked-Etag, not on the CDN's ETag."""
        return hashlib.sha256(b"mock-xet-hash:" + blob.sha256.encode()).hexdigest()

    # -- JSON documents ---------------------------------------------------------

    def repo_info(self, repo, commit, blobs, security):
        siblings = []
        used = 0
        for e in commit.files.values():
            s = {"rfilename": e.path}
            if blobs:
                m = self.file_meta(e)
                s["size"] = m["size"]
                s["blobId"] = m["oid"]
                if e.lfs:
                    s["lfs"] = {"sha256": m["sha256"], "size": m["size"],
                                "pointerSize": m["pointer_size"]}
                used += m["size"]
            siblings.append(s)
        card = repo.card
        info = {"_id": repo.oid, "id": repo.id}
        if repo.type == "model":
            info["modelId"] = repo.id
        info.update({
            "author": repo.namespace, "sha": commit.sha, "lastModified": commit.date,
            "createdAt": repo.created_at, "private": repo.private, "gated": repo.gated,
            "disabled": repo.disabled, "downloads": 0, "likes": 0,
            "tags": card.get("tags", []),
        })
        if repo.type == "model":
            info["pipeline_tag"] = card.get("pipeline_tag")
            info["library_name"] = card.get("library_name")
        else:
            info["description"] = card.get("description", "")
        info["cardData"] = card.get("cardData", {})
        info["siblings"] = siblings
        if repo.type == "model":
            info["spaces"] = []
        if blobs:
            info["usedStorage"] = used
        if security:
            info["securityRepoStatus"] = {"scansDone": True, "filesWithIssues": []}
        return info

    def tree_entry(self, commit, path, is_dir, expand):
        if is_dir:
            tree_oid = hashlib.sha1(f"tree {commit.sha}:{path}".encode()).hexdigest()
            e = {"type": "directory", "oid": tree_oid, "size": 0, "path": path}
        else:
            m = self.file_meta(commit.files[path])
            e = {"type": "file", "oid": m["oid"], "size": m["size"], "path": path}
            if m["lfs"]:
                e["lfs"] = {"oid": m["sha256"], "size": m["size"], "pointerSize": m["pointer_size"]}
        if expand:
            e["lastCommit"] = {"id": commit.sha, "title": commit.title, "date": commit.date}
            if not is_dir:
                e["securityFileStatus"] = {"status": "safe", "avScan": {"virusFound": False},
                                           "pickleImportScan": {"highestSafetyLevel": "innocuous",
                                                                "imports": []}}
        return e

    def tree_listing(self, commit, path, recursive):
        """[(path, is_dir)] under `path` ('' = root), or None if `path` is no directory."""
        dirs = commit.dirs()
        if path and path not in dirs:
            return None
        prefix = path + "/" if path else ""
        items = [(d, True) for d in dirs if d.startswith(prefix)]
        items += [(f, False) for f in commit.files if f.startswith(prefix)]
        if not recursive:
            items = [(p, d) for p, d in items if "/" not in p[len(prefix):]]
            return sorted(items, key=lambda x: (not x[1], x[0]))
        return sorted(items, key=lambda x: x[0].split("/"))

    def whoami(self, tok, info):
        user = info["user"]
        created = info.get("created_at", "2025-01-01T00:00:00.000Z")
        access = {"displayName": info.get("token_name", f"{user}-token"), "role": info["role"],
                  "createdAt": created}
        if info["role"] == "fineGrained":
            access["fineGrained"] = info.get("fine_grained") or {
                "canReadGatedRepos": True,
                "global": ["discussion.write", "post.write"],
                "scoped": [{"entity": {"_id": object_id("user", user), "type": "user", "name": user},
                            "permissions": ["repo.content.read"]}],
            }
        orgs = [{"id": object_id("org", o), "type": "org", "name": o, "fullname": o.title(),
                 "email": None, "canPay": False, "avatarUrl": "/avatars/org.svg",
                 "periodEnd": None, "roleInOrg": "read"} for o in info.get("orgs", [])]
        return {"type": "user", "id": object_id("user", user), "name": user,
                "fullname": info.get("fullname", user.title()), "email": f"{user}@example.invalid",
                "emailVerified": True, "isPro": False, "canPay": False,
                "avatarUrl": "/avatars/user.svg", "periodEnd": None, "billingMode": "prepaid",
                "orgs": orgs, "auth": {"type": "access_token", "accessToken": access}}

    def manifest(self, repo_filter=None, rev=None, all_commits=False):
        out = []
        for repo in list(self.repos.values()):
            if repo_filter and repo.id != repo_filter:
                continue
            if all_commits:
                commits = [(None, c) for c in repo.commits.values()]
            else:
                r = rev or repo.default_branch
                c = repo.resolve(r)
                commits = [(r, c)] if c else []
            for r, c in commits:
                for e in c.files.values():
                    m = self.file_meta(e)
                    out.append({"repo": repo.id, "type": repo.type, "rev": r, "commit": c.sha,
                                "path": e.path, "size": m["size"], "sha256": m["sha256"],
                                "git_sha1": m["git_sha1"], "oid": m["oid"], "etag": m["etag"],
                                "lfs": e.lfs, "data_file": m["blob"].path})
        return out

    def summary(self):
        return {"options": self.options, "ports": self.ports, "scheme": self.scheme,
                "renames": self.renames,
                "repos": [{"id": r.id, "type": r.type, "gated": r.gated, "private": r.private,
                           "disabled": r.disabled, "branches": r.branches, "tags": r.tags,
                           "prs": r.prs, "commits": list(r.commits)} for r in self.repos.values()],
                "tokens": [{"user": t["user"], "role": t["role"], "granted": sorted(t["granted"]),
                            "sha256": hashlib.sha256(k.encode()).hexdigest()[:16]}
                           for k, t in self.tokens.items()]}


class Slice:
    """A byte range of a blob's data file, sent with sendfile when no fault applies."""

    def __init__(self, blob, start, length):
        self.blob, self.start, self.length = blob, start, length


class Finished(Exception):
    """Raised inside a route once the response has been sent."""


# ---------------------------------------------------------------------------
# HTTP handling shared by both origins

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-hub/1.0"
    sys_version = ""
    timeout = 120            # idle keep-alive connections are closed after this
    origin = "?"
    body_cap = 16 * MiB
    # TCP_NODELAY: the headers and the body go out in separate writes, and on a kept-alive
    # connection Nagle would hold the second back for the client's delayed ACK (40 ms a
    # response), which no real server does (bench/many.sh: 10,000 files would take 400 s)
    disable_nagle_algorithm = True

    # -- connection -------------------------------------------------------------

    def setup(self):
        self.tls_error = None
        if isinstance(self.request, ssl.SSLSocket):
            try:
                self.request.settimeout(10)
                self.request.do_handshake()
            except (ssl.SSLError, OSError) as e:
                self.tls_error = str(e)
        super().setup()
        self.hub = self.server.hub
        self.conn_id = self.hub.log.new_connection(self.origin)

    def handle(self):
        if self.tls_error:
            return
        try:
            super().handle()
        except (ConnectionError, TimeoutError, ssl.SSLError, OSError):
            self.close_connection = True

    def log_message(self, fmt, *args):   # silence http.server's stderr access log
        pass

    def version_string(self):
        return self.server_version

    def do_GET(self):
        self.dispatch()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    # -- request ------------------------------------------------------------------

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                if len(out) + n > self.body_cap:
                    raise ConfigError("request body too large")
                out += self.rfile.read(n)
                self.rfile.readline(1024)
            return bytes(out)
        n = int(self.headers.get("Content-Length") or 0)
        if n > self.body_cap:
            raise ConfigError("request body too large")
        return self.rfile.read(n) if n > 0 else b""

    def dispatch(self):
        self.t0 = time.monotonic()
        self.status_sent = None
        self.body_bytes = 0
        self.fault = None
        self.blob_sha = None
        self.error = None
        self._files = None
        split = urllib.parse.urlsplit(self.path)
        self.raw_path = split.path or "/"
        self.query_string = split.query
        self.query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        control = self.origin == "hub" and self.raw_path.startswith("/_mock/")
        try:
            try:
                self.body = self.read_body()
            except (ConfigError, ValueError) as e:
                self.close_connection = True
                self.send_json({"error": str(e)}, 413)
                return
            if control:
                self.handle_control()
                return
            self.fault = self.hub.faults.next_action(
                self.origin, self.command, urllib.parse.unquote(self.raw_path),
                "Range" in self.headers, self.request_files)
            if self.fault and self.pre_fault():
                return
            self.route()
        except Finished:
            pass
        except (ConnectionError, TimeoutError, ssl.SSLError) as e:
            self.close_connection = True
            self.error = type(e).__name__
        except Exception as e:           # a bug in the mock: say so loudly
            self.close_connection = True
            self.error = f"{type(e).__name__}: {e}"
            traceback.print_exc()
            if self.status_sent is None:
                try:
                    self.send_json({"error": "mock hub internal error: " + str(e)}, 500)
                except OSError:
                    pass
        finally:
            if not control:
                self.hub.log.add(self.record(), self.blob_sha)

    def request_files(self):
        if self._files is None:
            self._files = self.files_of_request()
        return self._files

    def files_of_request(self):
        return []

    def record(self):
        auth = self.headers.get("Authorization")
        rec = {
            "t": round(time.time(), 6), "origin": self.origin, "conn": self.conn_id,
            "method": self.command, "path": self.path, "status": self.status_sent,
            "auth": auth is not None,
            "auth_sha256": hashlib.sha256(auth.encode()).hexdigest()[:16] if auth else None,
            "host": self.headers.get("Host"),
            "user_agent": self.headers.get("User-Agent"),
            "range": self.headers.get("Range"),
            "if_range": self.headers.get("If-Range"),
            "accept_encoding": self.headers.get("Accept-Encoding"),
            "x_amzn_trace_id": self.headers.get("X-Amzn-Trace-Id"),
            "bytes": self.body_bytes,
            "ms": round((time.monotonic() - self.t0) * 1000, 1),
            "fault": self.fault,
        }
        if self.origin == "cdn" and auth is not None:
            # A token reaching the CDN is a leak; keep it verbatim so leak scans see it.
            rec["authorization"] = auth
        if self.error:
            rec["error"] = self.error
        return rec

    # -- responses ----------------------------------------------------------------

    def respond(self, status, headers=(), body=b"", ctype=None, chunked=False):
        """Send one response; applies the body-level faults of the current action."""
        a = self.fault or {}
        hdrs = list(headers)
        if ctype:
            hdrs.append(("Content-Type", ctype))
        if self.origin == "hub":
            hdrs.append(("X-Request-Id", new_request_id()))
        for k, v in (a.get("headers") or {}).items():
            hdrs = [(hk, hv) for hk, hv in hdrs if hk.lower() != k.lower()] + [(k, str(v))]
        omit = {h.lower() for h in a.get("omit_headers", [])}
        hdrs = [(k, v) for k, v in hdrs if k.lower() not in omit]
        length = body.length if isinstance(body, Slice) else len(body or b"")
        declared = length
        if "wrong_content_length" in a:
            declared = max(0, length + int(a["wrong_content_length"]))
        self.send_response(status)
        for k, v in hdrs:
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif "content-length" in omit:
            self.close_connection = True     # body ends when the connection does
        else:
            self.send_header("Content-Length", str(declared))
        self.end_headers()
        self.status_sent = status
        if self.command == "HEAD" or status in (204, 304):
            return
        self.pace_start, self.pace_sent = time.monotonic(), 0   # one clock per body
        limit = length if chunked else min(length, declared)
        if a.get("close_after_bytes") is not None:
            limit = min(limit, int(a["close_after_bytes"]))
        if chunked:
            data = body[:limit]
            if data:
                self.wfile.write(b"%x\r\n" % len(data))
                self.send_bytes(data, 0)
                if limit == length:
                    self.wfile.write(b"\r\n")
            if limit == length:
                self.wfile.write(b"0\r\n\r\n")
        elif isinstance(body, Slice):
            self.send_slice(body, limit)
        else:
            self.send_bytes(body[:limit], 0)
        if limit < length or declared > length:
            self.close_connection = True     # the client is left waiting for bytes

    def rate(self):
        a = self.fault or {}
        if a.get("drip_bps"):
            return int(a["drip_bps"])
        return self.hub.options["cdn_rate_bps"] if self.origin == "cdn" else 0

    def corrupt(self, data, offset):
        """Flip the byte at absolute offset corrupt_byte_at if it lies in `data`."""
        at = (self.fault or {}).get("corrupt_byte_at")
        if at is None or not offset <= int(at) < offset + len(data):
            return data
        buf = bytearray(data)
        buf[int(at) - offset] ^= 0xFF
        return bytes(buf)

    def send_bytes(self, data, offset):
        """Write `data` (which starts at `offset` of the file) with pacing and corruption."""
        data = self.corrupt(data, offset)
        rate = self.rate()
        if not rate:
            self.wfile.write(data)
            self.body_bytes += len(data)
            return
        step = max(1, min(64 * KiB, rate // 20))
        for i in range(0, len(data), step):
            piece = data[i:i + step]
            self.wfile.write(piece)
            self.pace_sent += len(piece)
            self.body_bytes += len(piece)
            delay = self.pace_start + self.pace_sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def send_slice(self, sl, limit):
        a = self.fault or {}
        plain = (not self.rate() and a.get("corrupt_byte_at") is None
                 and not isinstance(self.connection, ssl.SSLSocket))
        with open(sl.blob.path, "rb") as f:
            pos, end = sl.start, sl.start + limit
            if plain:
                # Zero-copy: the kernel moves the bytes, so Python is not the bottleneck.
                while pos < end:
                    n = self.connection.sendfile(f, pos, min(8 * MiB, end - pos))
                    if n <= 0:
                        raise ConnectionError("sendfile sent nothing")
                    pos += n
                    self.body_bytes += n
                return
            f.seek(pos)
            while pos < end:
                chunk = f.read(min(MiB, end - pos))
                if not chunk:
                    raise ConnectionError("data file shorter than expected")
                self.send_bytes(chunk, pos)
                pos += len(chunk)

    def send_json(self, obj, status=200, headers=()):
        self.respond(status, headers, json_bytes(obj), "application/json; charset=utf-8")

    def base_url(self):
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        return f"{self.hub.scheme}://{host}"

    # -- faults that replace the response ----------------------------------------

    def pre_fault(self):
        """Apply the current action's request-level part; True when it answered."""
        a = self.fault
        if a.get("delay_ms"):
            time.sleep(int(a["delay_ms"]) / 1000.0)
        if a.get("close_before_headers"):
            self.close_connection = True
            return True
        if a.get("require_token") and not self.headers.get("Authorization"):
            self.respond(401, [("X-Error-Message", "Authorization required"),
                               ("WWW-Authenticate", WWW_AUTH)],
                         json_bytes({"error": "Authorization required"}),
                         "application/json; charset=utf-8")
            return True
        if "status" in a:
            st = int(a["status"])
            hdrs = []
            if "retry_after" in a:
                hdrs.append(("Retry-After", str(a["retry_after"])))
            if a.get("error_code"):
                hdrs.append(("X-Error-Code", a["error_code"]))
            msg = a.get("error_message")
            if msg:
                hdrs.append(("X-Error-Message", msg))
            if "body" in a:
                body, ctype = str(a["body"]).encode(), "text/plain; charset=utf-8"
            else:
                reason = self.responses.get(st, ("Error",))[0]
                body, ctype = json_bytes({"error": msg or reason}), "application/json; charset=utf-8"
            self.respond(st, hdrs, body, ctype)
            return True
        if a.get("redirect_loop"):
            loc = self.path if self.origin == "hub" else f"{self.base_url()}{self.path}"
            self.redirect(int(a.get("redirect_status", 302)), loc)
            return True
        if a.get("redirect_to"):
            loc = str(a["redirect_to"]).format(
                hub=f"{self.hub.scheme}://127.0.0.1:{self.hub.ports['hub']}",
                cdn=f"{self.hub.scheme}://127.0.0.1:{self.hub.ports['cdn']}",
                path=self.raw_path, query=self.query_string)
            self.redirect(int(a.get("redirect_status", 302)), loc)
            return True
        return False

    def redirect(self, status, location, headers=()):
        word = {301: "Moved Permanently", 302: "Found", 303: "See Other",
                307: "Temporary Redirect", 308: "Permanent Redirect"}.get(status, "Redirect")
        self.respond(status, list(headers) + [("Location", location)],
                     f"{word}. Redirecting to {location}".encode(), "text/plain; charset=utf-8")

    # -- content with ranges ------------------------------------------------------

    def serve_blob(self, blob, headers, etag_for_if_range):
        """200/206/416 for a blob, honouring Range and If-Range (and the faults
        ignore_range / status_416)."""
        a = self.fault or {}
        size = blob.size
        self.blob_sha = blob.sha256
        if a.get("status_416"):
            self.respond(416, headers + [("Content-Range", f"bytes */{size}")],
                         b"Requested Range Not Satisfiable", "text/plain; charset=utf-8")
            return
        rng = None if a.get("ignore_range") else self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if rng and if_range and if_range.strip() != etag_for_if_range:
            rng = None                   # the client's copy is stale: send the whole body
        parsed = parse_range(rng, size) if rng and size > 0 else None
        headers = headers + [("Accept-Ranges", "bytes")]
        if parsed == "unsat":
            self.respond(416, headers + [("Content-Range", f"bytes */{size}")],
                         b"Requested Range Not Satisfiable", "text/plain; charset=utf-8")
        elif parsed:
            first, last = parsed
            self.respond(206, headers + [("Content-Range", f"bytes {first}-{last}/{size}")],
                         Slice(blob, first, last - first + 1))
        else:
            self.respond(200, headers, Slice(blob, 0, size))

    # -- control API (Hub origin, /_mock/...; not logged) -------------------------

    def handle_control(self):
        verb = self.raw_path[len("/_mock/"):].strip("/")
        hub = self.hub
        try:
            data = json.loads(self.body.decode() or "null") if self.body else None
        except ValueError as e:
            self.send_json({"error": f"bad JSON: {e}"}, 400)
            return
        get = self.command in ("GET", "HEAD")
        q = {k: v[-1] for k, v in self.query.items()}
        try:
            if verb == "health" and get:
                return self.send_json({"ok": True, "pid": os.getpid()})
            if verb == "log" and get:
                since = int(q.get("since", 0))
                text = "".join(json.dumps(e, ensure_ascii=False) + "\n"
                               for e in hub.log.lines(since))
                return self.respond(200, [], text.encode(), "application/x-ndjson")
            if verb == "reset-log" and not get:
                hub.log.reset_log()
                return self.send_json({"ok": True})
            if verb == "reset-stats" and not get:
                hub.log.reset_stats()
                return self.send_json({"ok": True})
            if verb == "reset" and not get:
                hub.log.reset_log()
                hub.log.reset_stats()
                return self.send_json({"ok": True})
            if verb == "stats" and get:
                return self.send_json(hub.log.snapshot_stats())
            if verb == "files" and get:
                return self.send_json({"files": hub.manifest(q.get("repo"), q.get("rev"),
                                                            qbool(q.get("all", "")))})
            if verb == "state" and get:
                return self.send_json(hub.summary())
            if verb == "faults":
                if get:
                    return self.send_json({"rules": hub.faults.describe()})
                n = hub.install_faults(data if data is not None else [], qbool(q.get("append", "")))
                return self.send_json({"ok": True, "installed": n})
            if get:
                return self.send_json({"error": f"unknown control GET '{verb}'"}, 404)
            if not isinstance(data, dict):
                raise ConfigError("body must be a JSON object")
            if verb in ("grant", "revoke"):
                info = hub.token_info(data.get("token"))
                if info is None:
                    raise ConfigError("unknown token")
                with hub.lock:
                    if verb == "grant":
                        info["granted"].add(data["repo"])
                    else:
                        info["granted"].discard(data["repo"])
                return self.send_json({"ok": True})
            if verb == "add-token":
                hub.add_token(data.pop("token"), data)
                return self.send_json({"ok": True})
            if verb == "remove-token":
                with hub.lock:
                    hub.tokens.pop(data.get("token"), None)
                return self.send_json({"ok": True})
            if verb == "set":
                with hub.lock:
                    for k, v in data.items():
                        hub.set_option(k, v)
                return self.send_json({"ok": True, "options": hub.options})
            if verb == "repo-flags":
                repo = self.control_repo(data)
                with hub.lock:
                    if "gated" in data:
                        repo.gated = data["gated"]
                    for k in ("private", "disabled"):
                        if k in data:
                            setattr(repo, k, bool(data[k]))
                return self.send_json({"ok": True})
            if verb == "move-branch":
                return self.control_move_branch(data)
        except (ConfigError, KeyError, ValueError, TypeError) as e:
            return self.send_json({"error": f"{type(e).__name__}: {e}"}, 400)
        self.send_json({"error": f"unknown control verb '{verb}'"}, 404)

    def control_repo(self, data):
        rid = data.get("repo")
        rtype = data.get("type")
        for (t, i), r in self.hub.repos.items():
            if i == rid and (rtype is None or t == rtype):
                return r
        raise ConfigError(f"unknown repo {rid!r}")

    def control_move_branch(self, data):
        """{repo, branch, commit} moves a branch to a known commit; with `files` it first
        creates that commit on top of the branch's current one (files overlay)."""
        hub = self.hub
        repo = self.control_repo(data)
        branch = data.get("branch", repo.default_branch)
        with hub.lock:
            key = data.get("commit")
            if "files" in data:
                parent = repo.commits[repo.branches[branch]] if branch in repo.branches else None
                label = key or f"moved-{len(repo.commits)}-{time.time()}"
                c = hub.make_commit(repo, label, data, parent)
                repo.commits[c.sha] = c
                sha = c.sha
            else:
                if not key:
                    raise ConfigError("give 'commit' (or 'files' to create one)")
                sha = key if key in repo.commits else derive_commit(repo.type, repo.id, key)
                if sha not in repo.commits:
                    raise ConfigError(f"unknown commit {key!r}")
            repo.branches[branch] = sha
        if "files" in data:
            threading.Thread(target=hub.prewarm, daemon=True).start()
        return self.send_json({"ok": True, "branch": branch, "commit": sha})


# ---------------------------------------------------------------------------
# The Hub origin

class HubHandler(Handler):
    origin = "hub"

    def files_of_request(self):
        m = (re.search(r"/resolve/[^/]+/(.+)$", self.raw_path)
             or re.match(r"/api/resolve-cache/[^/]+/(?:[^/]+/){1,2}[0-9a-f]{40}/(.+)$",
                         self.raw_path))
        return [urllib.parse.unquote(m.group(1))] if m else []

    def route(self):
        p = self.raw_path
        if p.startswith("/api/"):
            return self.route_api(p)
        return self.route_resolve(p)

    # -- helpers -------------------------------------------------------------------

    def not_found(self):
        self.send_json({"error": NOT_FOUND_MSG}, 404)

    def hub_error(self, status, message, code=None, commit=None, api=True, extra=()):
        hdrs = list(extra)
        if code:
            hdrs.append(("X-Error-Code", code))
        hdrs.append(("X-Error-Message", message))
        if commit:
            hdrs.append(("X-Repo-Commit", commit))
        if api or self.hub.options["resolve_error_body"] == "json":
            self.respond(status, hdrs, json_bytes({"error": message}),
                         "application/json; charset=utf-8")
        else:
            self.respond(status, hdrs, message.encode(), "text/plain; charset=utf-8")
        raise Finished

    def auth(self):
        """(token info or None); answers 401 itself for an unknown or malformed token."""
        h = self.headers.get("Authorization")
        if h is None:
            return None
        parts = h.split(None, 1)
        info = None
        if len(parts) == 2 and parts[0].lower() == "bearer":
            info = self.hub.token_info(parts[1].strip())
        if info is None:
            self.hub_error(401, INVALID_CREDS)
        return info

    def split_repo(self, rtype, segs):
        """Pick the repo id (one or two path segments) off the front of `segs`."""
        segs = [urllib.parse.unquote(s) for s in segs]
        if len(segs) >= 2 and self.hub.known(rtype, f"{segs[0]}/{segs[1]}"):
            return f"{segs[0]}/{segs[1]}", segs[2:]
        if segs and self.hub.known(rtype, segs[0]):
            return segs[0], segs[1:]
        if len(segs) >= 2 and segs[1] not in API_SUBRESOURCES:
            return f"{segs[0]}/{segs[1]}", segs[2:]
        return (segs[0], segs[1:]) if segs else (None, [])

    def maybe_rename(self, rid, make_path):
        new = self.hub.renames.get(rid)
        if new is None:
            return
        loc = make_path(new) + (f"?{self.query_string}" if self.query_string else "")
        self.redirect(307, loc)
        raise Finished

    def check_repo(self, rtype, rid, content, api):
        info = self.auth()
        hub = self.hub
        repo = hub.get_repo(rtype, rid)
        with hub.lock:
            hidden = repo is None or (repo.private and not hub.can_see_private(info, repo))
            gated_block = (repo is not None and content and repo.gated
                           and not hub.granted(info, repo))
        if hidden:
            if info is None:
                self.hub_error(401, ANON_DENIED, api=api, extra=[("WWW-Authenticate", WWW_AUTH)])
            self.hub_error(404, "Repository not found", "RepoNotFound", api=api)
        if repo.disabled:
            self.hub_error(403, DISABLED_MSG, api=api)
        if gated_block:
            url = f"https://huggingface.co/{TYPE_PREFIX[rtype]}{rid}"
            if info is None:
                self.hub_error(401, f"Access to {rtype} {rid} is restricted. You must have access "
                               "to it and be authenticated to access it. Please log in.",
                               "GatedRepo", api=api)
            self.hub_error(403, f"Access to {rtype} {rid} is restricted and you are not in the "
                           f"authorized list. Visit {url} to ask for access.", "GatedRepo", api=api)
        return repo

    def resolve_rev(self, repo, rev, api):
        c = repo.resolve(rev)
        if c is None:
            self.hub_error(404, f"Invalid rev id: {rev}", "RevisionNotFound", api=api)
        return c

    def require_get(self):
        if self.command not in ("GET", "HEAD"):
            self.send_json({"error": "Method not allowed"}, 405, [("Allow", "GET, HEAD")])
            raise Finished

    # -- /api/... ------------------------------------------------------------------

    def route_api(self, p):
        segs = [s for s in p.split("/")[2:]]
        while segs and segs[-1] == "":
            segs.pop()
        if not segs:
            return self.not_found()
        head = segs[0]
        if head == "whoami-v2" and len(segs) == 1:
            self.require_get()
            return self.api_whoami()
        if head == "telemetry":
            return self.respond(200, [], b"", "text/plain; charset=utf-8")
        if head == "agent-harnesses":
            return self.not_found()
        if head == "resolve-cache" and len(segs) >= 2:
            return self.api_resolve_cache(segs[1:])
        if not (head.endswith("s") and head[:-1] in REPO_TYPES):
            return self.not_found()
        rtype = head[:-1]
        rid, rest = self.split_repo(rtype, segs[1:])
        if rid is None:
            return self.not_found()
        self.maybe_rename(rid, lambda new: "/".join(["/api", head, new] + segs[1 + len(rid.split("/")):]))
        if not rest:
            self.require_get()
            return self.api_repo_info(rtype, rid, None)
        sub = rest[0]
        if sub == "revision" and len(rest) >= 2:
            self.require_get()
            return self.api_repo_info(rtype, rid, rest[1:])
        if sub == "tree" and len(rest) >= 2:
            self.require_get()
            return self.api_tree(rtype, rid, rest[1], rest[2:])
        if sub == "refs" and len(rest) == 1:
            self.require_get()
            return self.api_refs(rtype, rid)
        if sub == "paths-info" and len(rest) == 2 and self.command == "POST":
            return self.api_paths_info(rtype, rid, rest[1])
        return self.not_found()

    def api_whoami(self):
        h = self.headers.get("Authorization") or ""
        parts = h.split(None, 1)
        info = None
        if len(parts) == 2 and parts[0].lower() == "bearer":
            info = self.hub.token_info(parts[1].strip())
        if info is None:
            return self.send_json({"error": INVALID_CREDS}, 401,
                                  [("X-Error-Message", INVALID_CREDS)])
        with self.hub.lock:
            doc = self.hub.whoami(parts[1].strip(), info)
        self.send_json(doc)

    def api_repo_info(self, rtype, rid, rev_segs):
        repo = self.check_repo(rtype, rid, content=False, api=True)
        if rev_segs is None:
            rev = repo.default_branch
        else:
            rev = "/".join(rev_segs)
            if len(rev_segs) != 1:
                # the Hub wants refs/pr/1 encoded as refs%2Fpr%2F1; unencoded is a 404
                self.hub_error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        commit = self.resolve_rev(repo, rev, api=True)
        blobs = qbool(self.query.get("blobs", [""])[-1])
        security = qbool(self.query.get("securityStatus", [""])[-1])
        info = self.hub.repo_info(repo, commit, blobs, security)
        expand = [e for v in self.query.get("expand", []) for e in v.split(",") if e]
        if expand:
            info = {k: v for k, v in info.items() if k in ("_id", "id") or k in expand}
        self.send_json(info)

    def api_tree(self, rtype, rid, raw_rev, path_segs):
        repo = self.check_repo(rtype, rid, content=False, api=True)
        rev = raw_rev      # already unquoted by split_repo
        commit = self.resolve_rev(repo, rev, api=True)
        path = "/".join(path_segs).strip("/")
        recursive = qbool(self.query.get("recursive", [""])[-1])
        expand = qbool(self.query.get("expand", [""])[-1])
        items = self.hub.tree_listing(commit, path, recursive)
        if items is None:
            self.hub_error(404, "Entry not found", "EntryNotFound", commit=commit.sha)
        page = self.hub.options["tree_page_size_expand" if expand else "tree_page_size"]
        if self.query.get("limit"):
            page = max(1, min(page, int(self.query["limit"][-1])))
        offset = 0
        if self.query.get("cursor"):
            try:
                cur = json.loads(base64.urlsafe_b64decode(self.query["cursor"][-1] + "=="))
                offset = int(cur["o"])
            except (ValueError, KeyError, TypeError):
                self.hub_error(400, "Invalid cursor")
        chunk = items[offset:offset + page]
        body = [self.hub.tree_entry(commit, p, d, expand) for p, d in chunk]
        hdrs = []
        if offset + page < len(items):
            cursor = base64.urlsafe_b64encode(
                json_bytes({"o": offset + page, "c": commit.sha[:12]})).decode().rstrip("=")
            q = [(k, v[-1]) for k, v in self.query.items() if k not in ("cursor",)]
            q.append(("cursor", cursor))
            url = (f"{self.base_url()}/api/{rtype}s/{rid}/tree/{urllib.parse.quote(rev, safe='')}"
                   + (f"/{urllib.parse.quote(path, safe='')}" if path else "")
                   + "?" + urllib.parse.urlencode(q))
            hdrs.append(("Link", f'<{url}>; rel="next"'))
        self.send_json(body, 200, hdrs)

    def api_refs(self, rtype, rid):
        repo = self.check_repo(rtype, rid, content=False, api=True)
        with self.hub.lock:
            doc = {
                "branches": [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": c}
                             for n, c in repo.branches.items()],
                "converts": [],
                "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": c}
                         for n, c in repo.tags.items()],
            }
            if qbool(self.query.get("include_prs", [""])[-1]):
                doc["pullRequests"] = [{"name": f"refs/pr/{n}", "ref": f"refs/pr/{n}",
                                        "targetCommit": c} for n, c in repo.prs.items()]
        self.send_json(doc)

    def api_paths_info(self, rtype, rid, raw_rev):
        repo = self.check_repo(rtype, rid, content=False, api=True)
        commit = self.resolve_rev(repo, raw_rev, api=True)
        ctype = self.headers.get("Content-Type", "")
        if "json" in ctype:
            try:
                data = json.loads(self.body or b"{}")
            except ValueError:
                self.hub_error(400, "Invalid JSON body")
            paths, expand = data.get("paths", []), qbool(data.get("expand", False))
        else:
            form = urllib.parse.parse_qs(self.body.decode("utf-8", "replace"))
            paths, expand = form.get("paths", []), qbool(form.get("expand", [""])[-1])
        if isinstance(paths, str):
            paths = [paths]
        dirs = commit.dirs()
        out = []
        for p in paths:
            p = str(p).strip("/")
            if p in commit.files:
                out.append(self.hub.tree_entry(commit, p, False, expand))
            elif p in dirs:
                out.append(self.hub.tree_entry(commit, p, True, expand))
        self.send_json(out)

    def api_resolve_cache(self, segs):
        """/api/resolve-cache/{type}s/{repo}/{commit}/{path}: where the live Hub sends
        small files with a relative 307 (option small_file_redirect)."""
        self.require_get()
        if not (segs[0].endswith("s") and segs[0][:-1] in REPO_TYPES):
            return self.not_found()
        rtype = segs[0][:-1]
        rid, rest = self.split_repo(rtype, segs[1:])
        if rid is None or len(rest) < 2:
            return self.not_found()
        repo = self.check_repo(rtype, rid, content=True, api=False)
        commit = repo.commits.get(rest[0])
        if commit is None:
            self.hub_error(404, f"Invalid rev id: {rest[0]}", "RevisionNotFound", api=False)
        self.serve_file(repo, commit, commit.sha, "/".join(rest[1:]), direct=True)

    # -- /{prefix}{repo}/resolve/{rev}/{path} ----------------------------------------

    def route_resolve(self, p):
        segs = p.split("/")[1:]
        rtype = "model"
        prefix = ""
        if segs and segs[0] in ("datasets", "spaces", "kernels"):
            rtype, prefix = segs[0][:-1], segs[0] + "/"
            segs = segs[1:]
        idx = None
        if len(segs) >= 4 and segs[2] == "resolve":
            idx = 2
        if len(segs) >= 3 and segs[1] == "resolve" and (
                idx is None or self.hub.known(rtype, urllib.parse.unquote(segs[0]))):
            idx = 1
        if idx is None:
            return self.not_found()
        rid = "/".join(urllib.parse.unquote(s) for s in segs[:idx])
        raw_rest = "/".join(segs[idx:])
        self.maybe_rename(rid, lambda new: f"/{prefix}{new}/{raw_rest}")
        self.require_get()
        repo = self.check_repo(rtype, rid, content=True, api=False)
        rev = urllib.parse.unquote(segs[idx + 1])
        commit = self.resolve_rev(repo, rev, api=False)
        path = urllib.parse.unquote("/".join(segs[idx + 2:]))
        self.serve_file(repo, commit, rev, path)

    def serve_file(self, repo, commit, rev, path, direct=False):
        hub = self.hub
        entry = commit.files.get(path)
        if entry is None:
            self.hub_error(404, "Entry not found", "EntryNotFound", commit=commit.sha, api=False)
        if (self.fault or {}).get("etag_change"):
            hub.store.change(entry.blob)
        m = hub.file_meta(entry)
        blob = m["blob"]
        name = path.rsplit("/", 1)[-1]
        base = [("X-Repo-Commit", commit.sha), ("Vary", "Origin, Accept-Encoding"),
                ("Access-Control-Expose-Headers", EXPOSE_HEADERS)]
        if entry.lfs and not direct and m["size"] >= hub.options["small_file_threshold"]:
            url = hub.cdn_url(repo, blob, name, hub.scheme)
            self.redirect(302, url, base + [("X-Linked-Etag", f'"{m["sha256"]}"'),
                                            ("X-Linked-Size", str(m["size"]))])
            return
        if not entry.lfs and not direct and hub.options["small_file_redirect"]:
            # the live Hub's small-file dance: relative 307 into /api/resolve-cache/
            loc = (f"/api/resolve-cache/{repo.type}s/{repo.id}/{commit.sha}/"
                   f"{urllib.parse.quote(path)}?"
                   + urllib.parse.urlencode({f"/{TYPE_PREFIX[repo.type]}{repo.id}/resolve/{rev}/{path}": "",
                                             "etag": f'"{m["etag"]}"'}))
            self.redirect(307, loc, base + [("X-Linked-Etag", f'"{m["etag"]}"')])
            return
        etag = f'"{m["etag"]}"'
        hdrs = base + [("ETag", etag), ("Content-Disposition", content_disposition(name)),
                       ("Last-Modified", LAST_MODIFIED)]
        if entry.lfs:
            hdrs += [("X-Linked-Etag", etag), ("X-Linked-Size", str(m["size"]))]
        ctype = "text/plain; charset=utf-8" if blob.is_text else "application/octet-stream"
        if (not entry.lfs and hub.options["gzip_text"] and self.command == "GET"
                and "Range" not in self.headers
                and "gzip" in (self.headers.get("Accept-Encoding") or "")):
            self.blob_sha = blob.sha256
            data = gzip.compress(blob.read_all(), mtime=0)
            self.respond(200, hdrs + [("Content-Encoding", "gzip")], data, ctype, chunked=True)
            return
        self.serve_blob(blob, hdrs + [("Content-Type", ctype)], etag)


# ---------------------------------------------------------------------------
# The CDN origin

class CdnHandler(Handler):
    origin = "cdn"

    def files_of_request(self):
        m = re.fullmatch(r"/xet-bridge-us/[0-9a-f]{24}/([0-9a-f]{64})", self.raw_path)
        return self.hub.paths_for_sha(m.group(1)) if m else []

    def s3_error(self, status, code, message):
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>{message}</Message><RequestId>{secrets.token_hex(8).upper()}"
                "</RequestId></Error>").encode()
        self.respond(status, [("X-Cache", "Error from cloudfront")], body, "application/xml")

    def route(self):
        hub = self.hub
        if self.command not in ("GET", "HEAD"):
            return self.s3_error(405, "MethodNotAllowed",
                                 "The specified method is not allowed against this resource.")
        if self.headers.get("Authorization") is not None and hub.options["cdn_reject_auth"]:
            return self.s3_error(400, "InvalidArgument",
                                 "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                                 "parameter, Signature query string parameter or the Authorization "
                                 "header should be specified")
        m = re.fullmatch(r"/xet-bridge-us/([0-9a-f]{24})/([0-9a-f]{64})", self.raw_path)
        if not m:
            return self.s3_error(404, "NoSuchKey", "The specified key does not exist.")
        q = {k: v[-1] for k, v in self.query.items()}
        disp = q.get("response-content-disposition", "")
        if hub.options["cdn_check_signature"]:
            want = hub.sign(self.raw_path, q.get("Expires", ""), disp)
            if not hmac.compare_digest(want, q.get("X-Amz-Signature", "")):
                return self.s3_error(403, "SignatureDoesNotMatch",
                                     "The request signature we calculated does not match "
                                     "the signature you provided.")
            if int(q.get("Expires", "0") or 0) < time.time():
                return self.s3_error(403, "AccessDenied", "Request has expired")
        with hub.store.lock:
            blob = hub.store.by_sha.get(m.group(2))
        if blob is None:
            return self.s3_error(404, "NoSuchKey", "The specified key does not exist.")
        if (self.fault or {}).get("etag_change"):
            hub.store.change(blob)
        blob = hub.store.effective(blob).ensure()
        etag = f'"{hub.cdn_etag(blob)}"'
        hdrs = [("ETag", etag), ("Last-Modified", LAST_MODIFIED),
                ("Cache-Control", "public, max-age=604800, immutable"),
                ("X-Cache", "Hit from cloudfront"), ("Via", "1.1 mock-cdn (CloudFront)"),
                ("X-Amz-Cf-Id", secrets.token_urlsafe(30)),
                ("Content-Type", "application/octet-stream")]
        if disp:
            hdrs.append(("Content-Disposition", disp))
        self.serve_blob(blob, hdrs, etag)


# ---------------------------------------------------------------------------
# Servers, TLS

class MockServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, addr, handler, hub, ssl_ctx=None):
        self.hub = hub
        self.ssl_ctx = ssl_ctx
        super().__init__(addr, handler)

    def server_bind(self):
        # skip HTTPServer's getfqdn(), a reverse DNS lookup we neither need nor want
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        sock, addr = super().get_request()
        if self.ssl_ctx is not None:
            # the handshake runs in the handler thread, so a stuck client blocks only itself
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        if self.hub.log.verbose:
            traceback.print_exc()


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def ensure_tls_files(tls_dir):
    """Create a test CA, a server cert for 127.0.0.1/localhost/hub.test, a second
    (untrusted) CA and a cert for the wrong name, unless they already exist."""
    os.makedirs(tls_dir, exist_ok=True)
    names = ["ca.pem", "server.pem", "server.key", "other-ca.pem", "wrongname.pem", "wrongname.key"]
    with open(os.path.join(tls_dir, ".lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if all(os.path.exists(os.path.join(tls_dir, n)) for n in names):
            return
        work = tempfile.mkdtemp(prefix=".gen-", dir=tls_dir)
        try:
            ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            ca_ext = ["-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
            openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
                    "-subj", "/CN=mock-hub test CA", *ca_ext, cwd=work)
            openssl("req", "-x509", *ec, "-keyout", "other-ca.key", "-out", "other-ca.pem",
                    "-days", "3650", "-subj", "/CN=mock-hub other CA", *ca_ext, cwd=work)
            for stem, cn, san in (("server", "127.0.0.1", "IP:127.0.0.1,DNS:localhost,DNS:hub.test"),
                                  ("wrongname", "wrong.example", "DNS:wrong.example")):
                with open(os.path.join(work, stem + ".ext"), "w") as f:
                    f.write("basicConstraints=critical,CA:FALSE\n"
                            "keyUsage=critical,digitalSignature,keyEncipherment\n"
                            "extendedKeyUsage=serverAuth\n"
                            f"subjectAltName={san}\n"
                            "subjectKeyIdentifier=hash\n"
                            "authorityKeyIdentifier=keyid,issuer\n")
                openssl("req", *ec, "-keyout", stem + ".key", "-out", stem + ".csr",
                        "-subj", f"/CN={cn}", cwd=work)
                openssl("x509", "-req", "-in", stem + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                        "-set_serial", "0x" + secrets.token_hex(8), "-days", "825",
                        "-out", stem + ".pem", "-extfile", stem + ".ext", cwd=work)
            for n in names + ["ca.key"]:
                os.replace(os.path.join(work, n), os.path.join(tls_dir, n))
        finally:
            shutil.rmtree(work, ignore_errors=True)


def tls_context(tls_dir, wrong_name):
    stem = "wrongname" if wrong_name else "server"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(tls_dir, stem + ".pem"), os.path.join(tls_dir, stem + ".key"))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def write_json_atomic(path, obj):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def serve(args):
    """Run both origins until SIGTERM/SIGINT; 0 on a clean stop."""
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with open(args.config) as f:
        cfg = json.load(f)
    tmp_data = None
    if not args.data_dir:
        tmp_data = tempfile.mkdtemp(prefix="mock-hub-data-")
    try:
        return serve_with(args, cfg, args.data_dir or tmp_data, stop)
    finally:
        if tmp_data:
            shutil.rmtree(tmp_data, ignore_errors=True)


def serve_with(args, cfg, data_dir, stop):
    os.makedirs(data_dir, exist_ok=True)
    hub = MockHub(cfg, os.path.dirname(os.path.abspath(args.config)), data_dir,
                  args.log, args.verbose)
    if args.faults:
        with open(args.faults) as f:
            hub.install_faults(json.load(f), append=True)
    ctx = None
    if args.tls_dir:
        ensure_tls_files(args.tls_dir)
        ctx = tls_context(args.tls_dir, args.tls_wrong_name)
        hub.scheme = "https"
    servers = {
        "hub": MockServer(("127.0.0.1", args.hub_port), HubHandler, hub, ctx),
        "cdn": MockServer(("127.0.0.1", args.cdn_port), CdnHandler, hub, ctx),
    }
    for name, srv in servers.items():
        hub.ports[name] = srv.server_address[1]
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                         name=f"serve-{name}", daemon=True).start()

    # generate and hash all content in the background (requests for a blob wait for it)
    warm = threading.Thread(target=hub.prewarm, name="prewarm", daemon=True)
    warm.start()
    if args.wait_ready:
        while warm.is_alive() and not stop.is_set():
            warm.join(0.2)

    port_doc = {"hub": hub.ports["hub"], "cdn": hub.ports["cdn"], "pid": os.getpid(),
                "scheme": hub.scheme}
    if args.port_file and not stop.is_set():
        write_json_atomic(args.port_file, port_doc)
    if args.verbose:
        sys.stderr.write(f"mock-hub: {json.dumps(port_doc)}\n")
    while not stop.wait(0.5):
        pass
    for srv in servers.values():
        srv.shutdown()
        srv.server_close()
    if args.port_file:
        try:
            with open(args.port_file) as f:
                if json.load(f).get("pid") == os.getpid():
                    os.unlink(args.port_file)
        except (OSError, ValueError):
            pass
    return 0


# ---------------------------------------------------------------------------
# --make-config fake-model

FAKE_GITATTRIBUTES = "".join(
    f"*{s} filter=lfs diff=lfs merge=lfs -text\n"
    for s in (".7z", ".arrow", ".bin", ".bz2", ".ckpt", ".gz", ".h5", ".msgpack", ".npy",
              ".npz", ".onnx", ".pickle", ".pkl", ".pt", ".pth", ".safetensors", ".tar",
              ".tgz", ".xz", ".zip", ".zst")) + "*tfevents* filter=lfs diff=lfs merge=lfs -text\n"

FAKE_README = """---
license: cc-by-nc-sa-4.0
language:
- en
- zh
- ja
pipeline_tag: text-to-speech
tags:
- text-to-speech
extra_gated_prompt: >-
  This is a FAKE copy of fishaudio/openaudio-s1-mini made by the bootstrap test
  suite's mock Hub. You agree to nothing by accepting.
extra_gated_fields:
  I agree to use this model for non-commercial use ONLY: checkbox
---

# OpenAudio S1 mini (mock)

Fake weights for tests: random bytes with the layout of the real repository.
"""


def fake_config_json(revision):
    cfg = {"model_type": "dual_ar", "dim": 1024, "n_layer": 28, "n_head": 16,
           "n_local_heads": 8, "head_dim": 128, "intermediate_size": 3072,
           "vocab_size": 155776, "codebook_size": 4096, "num_codebooks": 10,
           "max_seq_len": 8192, "n_fast_layer": 4, "fast_dim": 1024, "rope_base": 1000000,
           "norm_eps": 1e-06, "tie_word_embeddings": True, "mock_revision": revision}
    return json.dumps(cfg, indent=2) + "\n"


def fake_wav(freq, seconds=0.25, rate=16000):
    n = int(seconds * rate)
    frames = bytearray()
    for i in range(n):
        v = int(8000 * math.sin(2 * math.pi * freq * i / rate))
        frames += v.to_bytes(2, "little", signed=True)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return out.getvalue(), n


FLEURS_PINNED_COMMIT = "70bb2e84b976b7e960aa89f1c648e09c59f894dd"


def fake_fleurs_files():
    """A tiny deterministic look-alike of google/fleurs data/fi_fi: a tar.gz of three
    .wav clips and the matching train.tsv."""
    clips = [("10001.wav", 220, "Hyvää huomenta.", "FEMALE"),
             ("10002.wav", 330, "Kiitos paljon.", "MALE"),
             ("10003.wav", 440, "Tämä on testi.", "FEMALE")]
    raw = io.BytesIO()
    rows = []
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for i, (name, freq, text, gender) in enumerate(clips, 1):
            data, nsamples = fake_wav(freq)
            ti = tarfile.TarInfo("train/" + name)
            ti.size, ti.mtime, ti.mode, ti.uname, ti.gname = len(data), 1717243200, 0o644, "", ""
            tar.addfile(ti, io.BytesIO(data))
            norm = text.lower().rstrip(".")
            chars = " ".join("|" if c == " " else c for c in norm) + " |"
            rows.append(f"{i}\t{name}\t{text}\t{norm}\t{chars}\t{nsamples}\t{gender}\n")
    tgz = gzip.compress(raw.getvalue(), mtime=0)
    return tgz, "".join(rows)


def random_token(rng):
    return "hf_" + "".join(rng.choice(string.ascii_letters) for _ in range(34))


def make_fake_model_config(model_size=24 * MiB, codec_size=26 * MiB, tokenizer_size=300 * KiB):
    rng = random.SystemRandom()
    tok_ok, tok_denied, tok_fg = random_token(rng), random_token(rng), random_token(rng)
    repo_id = "fishaudio/openaudio-s1-mini"
    c1 = derive_commit("model", repo_id, "initial")
    c2 = derive_commit("model", repo_id, "update")
    model_files = [
        {"path": ".gitattributes", "text": FAKE_GITATTRIBUTES},
        {"path": "README.md", "text": FAKE_README},
        {"path": "config.json", "text": fake_config_json(1)},
        {"path": "special_tokens.json", "text": json.dumps(
            {"<|begin_of_text|>": 151643, "<|end_of_text|>": 151644, "<|im_start|>": 151645,
             "<|im_end|>": 151646, "<|semantic|>": 151647}, indent=2) + "\n"},
        {"path": "tokenizer.tiktoken", "size": tokenizer_size, "seed": 5101},
        {"path": "model.pth", "size": model_size, "seed": 5102},
        {"path": "codec.pth", "size": codec_size, "seed": 5103},
    ]
    tgz, tsv = fake_fleurs_files()
    ds_id = "google/fleurs"
    return {
        "comment": "Generated by tests/mock_hub/mock_hub.py --make-config fake-model. A FAKE "
                   "copy of fishaudio/openaudio-s1-mini for tests; the tokens are random test "
                   "strings known only to this mock.",
        "test_tokens": {"ok": tok_ok, "denied": tok_denied, "fine_grained": tok_fg},
        "tokens": {
            tok_ok: {"user": "alice", "role": "read", "token_name": "bootstrap-test",
                     "orgs": ["finnish-tts"], "granted": [repo_id]},
            tok_denied: {"user": "bob", "role": "read", "token_name": "no-licence",
                         "granted": []},
            tok_fg: {"user": "carol", "role": "fineGrained", "token_name": "fine-grained-test",
                     "granted": [repo_id]},
        },
        "repos": [
            {
                "id": repo_id, "type": "model", "gated": "manual", "private": False,
                "disabled": False,
                "card": {"pipeline_tag": "text-to-speech", "library_name": "fish-speech",
                         "tags": ["text-to-speech", "license:cc-by-nc-sa-4.0"],
                         "cardData": {"license": "cc-by-nc-sa-4.0",
                                      "pipeline_tag": "text-to-speech"}},
                "commits": {
                    c1: {"title": "Initial release", "date": "2025-06-01T12:00:00.000Z",
                         "files": model_files},
                    c2: {"parent": c1, "title": "Update weights", "date": "2025-07-01T12:00:00.000Z",
                         "files": [{"path": "config.json", "text": fake_config_json(2)},
                                   {"path": "model.pth", "size": model_size, "seed": 6102}]},
                },
                "branches": {"main": c1},
                "tags": {"v1.0": c1},
                "prs": {"1": c2},
            },
            {
                "id": ds_id, "type": "dataset", "gated": False,
                "card": {"tags": ["task_categories:automatic-speech-recognition",
                                  "license:cc-by-4.0"],
                         "cardData": {"license": "cc-by-4.0"},
                         "description": "A tiny fake of FLEURS fi_fi for tests."},
                "commits": {
                    # the commit launchable/launchable.json pins (a real Hub commit of
                    # google/fleurs, third-party knowledge), so the manifest works here as is
                    FLEURS_PINNED_COMMIT: {
                        "title": "Initial commit", "files": [
                            {"path": ".gitattributes", "text": FAKE_GITATTRIBUTES},
                            {"path": "README.md", "text": "---\nlicense: cc-by-4.0\n---\n\n"
                                                          "# FLEURS (mock, fi_fi only)\n"},
                            {"path": "data/fi_fi/train.tsv", "text": tsv},
                            {"path": "data/fi_fi/audio/train.tar.gz",
                             "base64": base64.b64encode(tgz).decode()},
                        ]},
                },
                "branches": {"main": FLEURS_PINNED_COMMIT},
            },
        ],
        "renames": {"fishaudio/s1-mini": repo_id},
        "cdn_rate_bps": 0,
        "small_file_threshold": 0,
        "tree_page_size": 1000,
        "faults": [],
    }


# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="config JSON (see docs/mock-hub.md)")
    ap.add_argument("--port-file", help="write {hub, cdn, pid, scheme} here once listening")
    ap.add_argument("--tls-dir", help="serve HTTPS with the certs in DIR (created if missing)")
    ap.add_argument("--tls-wrong-name", action="store_true",
                    help="serve a cert for the wrong host name (wrong.example)")
    ap.add_argument("--log", help="append the request log (JSON lines) to FILE")
    ap.add_argument("--data-dir", help="cache generated file contents here (default: temp dir)")
    ap.add_argument("--faults", help="install the fault rules of this JSON file at start")
    ap.add_argument("--wait-ready", action="store_true",
                    help="generate and hash all content before writing the port file")
    ap.add_argument("--hub-port", type=int, default=0)
    ap.add_argument("--cdn-port", type=int, default=0)
    ap.add_argument("--verbose", "-v", action="store_true", help="log requests to stderr")
    ap.add_argument("--make-config", nargs=2, metavar=("KIND", "OUT"),
                    help="write a ready config; KIND is 'fake-model'")
    ap.add_argument("--model-size", help="--make-config: size of model.pth (default 24M)")
    ap.add_argument("--codec-size", help="--make-config: size of codec.pth (default 26M)")
    ap.add_argument("--print-manifest", action="store_true",
                    help="print the files of every repo's default branch as JSON and exit")
    args = ap.parse_args(argv)

    try:
        if args.make_config:
            kind, out = args.make_config
            if kind != "fake-model":
                ap.error("--make-config: the only KIND is 'fake-model'")
            cfg = make_fake_model_config(
                parse_size(args.model_size) if args.model_size else 24 * MiB,
                parse_size(args.codec_size) if args.codec_size else 26 * MiB)
            write_json_atomic(out, cfg)
            t = cfg["test_tokens"]
            print(f"# wrote {out}: fake fishaudio/openaudio-s1-mini + google/fleurs (test tokens only)")
            print(f"TOKEN_OK={t['ok']}\nTOKEN_DENIED={t['denied']}\nTOKEN_FG={t['fine_grained']}")
            return 0
        if not args.config:
            ap.error("--config is required")
        if args.print_manifest:
            with open(args.config) as f:
                cfg = json.load(f)
            tmp = None if args.data_dir else tempfile.mkdtemp(prefix="mock-hub-data-")
            try:
                data_dir = args.data_dir or tmp
                os.makedirs(data_dir, exist_ok=True)
                hub = MockHub(cfg, os.path.dirname(os.path.abspath(args.config)), data_dir)
                json.dump({"files": hub.manifest()}, sys.stdout, indent=1)
                print()
            finally:
                if tmp:
                    shutil.rmtree(tmp, ignore_errors=True)
            return 0
        return serve(args)
    except ConfigError as e:
        print(f"mock-hub: {e}", file=sys.stderr)
        return 2
    except (OSError, ValueError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", None)
        print(f"mock-hub: {e}" + (f": {detail.decode(errors='replace')}" if detail else ""),
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
