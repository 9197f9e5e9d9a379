#!/usr/bin/env python3
"""Self-test of mock_hub.py: starts the mock (plain HTTP, then TLS) and checks every
endpoint, error shape, Range case, redirect, fault action and control verb with
http.client/ssl only.  If huggingface_hub happens to be importable it also runs a
real snapshot_download against the mock (skipped otherwise).

Usage: python3 tests/mock_hub/selftest.py [-v] [-k SUBSTRING]
Prints one line per check and closes with exactly "N passed, N failed"; exits 1 on
any failure.  Needs only python3 and the openssl command; takes a few seconds.
"""

import argparse
import gzip
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
MOCK = os.path.join(HERE, "mock_hub.py")
REPO = "fishaudio/openaudio-s1-mini"
MODEL_SIZE = 3 * 1024 * 1024
CODEC_SIZE = 2 * 1024 * 1024
PERF_SIZE = 64 * 1024 * 1024


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def git_sha1(b):
    return hashlib.sha1(b"blob %d\0" % len(b) + b).hexdigest()


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def h(self, name):
        return self.headers.get(name)

    def json(self):
        return json.loads(self.body)


class Mock:
    """One running mock_hub.py process."""

    def __init__(self, work, config, name, tls_dir=None, extra=()):
        self.work = work
        self.port_file = os.path.join(work, f"{name}.port.json")
        self.log_file = os.path.join(work, f"{name}.requests.log")
        cmd = [sys.executable, MOCK, "--config", config, "--port-file", self.port_file,
               "--log", self.log_file, "--data-dir", os.path.join(work, "data"), "--wait-ready"]
        if tls_dir:
            cmd += ["--tls-dir", tls_dir]
        cmd += list(extra)
        self.stderr = open(os.path.join(work, f"{name}.stderr"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.time() + 15
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stderr.seek(0)
                raise RuntimeError(f"mock did not start: {self.stderr.read()}")
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.ports = json.load(f)
        self.scheme = self.ports["scheme"]
        self.hub = f"{self.scheme}://127.0.0.1:{self.ports['hub']}"
        self.cdn = f"{self.scheme}://127.0.0.1:{self.ports['cdn']}"
        self.ctx = None
        if tls_dir:
            self.ctx = ssl.create_default_context(cafile=os.path.join(tls_dir, "ca.pem"))

    def conn(self, url, ctx=None, timeout=10):
        u = urllib.parse.urlsplit(url)
        if u.scheme == "https":
            return http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout,
                                               context=ctx or self.ctx)
        return http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)

    def req(self, method, url, headers=None, body=None, token=None, ctx=None, conn=None):
        if not url.startswith("http"):
            url = self.hub + url
        u = urllib.parse.urlsplit(url)
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        c = conn or self.conn(url, ctx)
        target = u.path + (f"?{u.query}" if u.query else "")
        c.request(method, target, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return Resp(r.status, r.headers, data)

    def ctl(self, verb, obj=None, method="POST"):
        body = json.dumps(obj).encode() if obj is not None else None
        r = self.req(method, f"/_mock/{verb}", {"Content-Type": "application/json"}, body)
        if r.status != 200:
            raise AssertionError(f"/_mock/{verb}: {r.status} {r.body!r}")
        return r.body if verb.startswith("log") else r.json()

    def log(self):
        return [json.loads(line) for line in self.ctl("log", method="GET").decode().splitlines()]

    def faults(self, rules):
        return self.ctl("faults", rules)

    def files(self, **q):
        return {f["path"]: f for f in self.ctl("files?" + urllib.parse.urlencode(q),
                                               method="GET")["files"]}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return -9
        return self.proc.returncode


# ---------------------------------------------------------------------------

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def eq(a, b, what=""):
    if a != b:
        raise AssertionError(f"{what}: {a!r} != {b!r}" if what else f"{a!r} != {b!r}")


def ok(cond, what):
    if not cond:
        raise AssertionError(what)


class Env:
    """Shared fixtures: the config, the running plain mock, handy ids."""


def build_config(work):
    cfg_path = os.path.join(work, "config.json")
    subprocess.run([sys.executable, MOCK, "--make-config", "fake-model", cfg_path,
                    "--model-size", str(MODEL_SIZE), "--codec-size", str(CODEC_SIZE)],
                   check=True, stdout=subprocess.DEVNULL)
    with open(cfg_path) as f:
        cfg = json.load(f)
    with open(os.path.join(work, "external.dat"), "wb") as f:
        f.write(b"external file content\n" * 10)
    many = [{"path": f"shards/part-{i:02d}.txt", "text": f"shard {i}\n"} for i in range(9)]
    many += [{"path": f"nested/a/b/file{i}.txt", "text": f"nested {i}\n"} for i in range(3)]
    many += [{"path": "dir/with space+plus.txt", "text": "odd name\n"},
             {"path": "empty.txt", "text": ""},
             {"path": "external.dat", "file": "external.dat"},
             {"path": "big.bin", "size": 200000, "seed": 77},
             {"path": "victim.bin", "size": 100000, "seed": 78},
             {"path": "victim.txt", "text": "Some text that will change\n"}]
    cfg["repos"] += [
        {"id": "alice/private-model", "private": True,
         "files": [{"path": "weights.bin", "size": 1000, "seed": 1}]},
        {"id": "acme/disabled-model", "disabled": True,
         "files": [{"path": "README.md", "text": "gone\n"}]},
        {"id": "acme/many-files", "files": many},
        {"id": "gpt2", "files": [{"path": "config.json", "text": "{}\n"}]},
        {"id": "perf/blob", "files": [{"path": "blob.bin", "size": PERF_SIZE, "seed": 99}]},
    ]
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    return cfg_path, cfg


def cdn_get(m, path, token=None, headers=None, repo=REPO, rev="main"):
    """HEAD the resolve URL, then GET the CDN Location without Authorization."""
    r = m.req("HEAD", f"/{repo}/resolve/{rev}/{path}", token=token)
    eq(r.status, 302, f"HEAD {path}")
    return r, m.req("GET", r.h("Location"), headers=headers)


# -- basics and whoami ---------------------------------------------------------------

@test
def port_file_and_headers(e):
    m = e.m
    eq(set(m.ports), {"hub", "cdn", "pid", "scheme"}, "port file keys")
    eq(m.ports["scheme"], "http", "scheme")
    ok(m.ports["hub"] != m.ports["cdn"], "two ports")
    r = m.req("GET", f"/api/models/{REPO}")
    ok(re.match(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}$", r.h("X-Request-Id") or ""), "X-Request-Id")
    eq(r.h("Server"), "mock-hub/1.0", "Server")


@test
def whoami(e):
    m = e.m
    r = m.req("GET", "/api/whoami-v2", token=e.tok_ok)
    eq(r.status, 200)
    d = r.json()
    eq(d["name"], "alice")
    eq(d["type"], "user")
    ok(d["fullname"], "fullname")
    eq([o["name"] for o in d["orgs"]], ["finnish-tts"])
    eq(d["auth"]["type"], "access_token")
    at = d["auth"]["accessToken"]
    eq((at["displayName"], at["role"]), ("bootstrap-test", "read"))
    ok(re.match(r"\d{4}-\d\d-\d\dT", at["createdAt"]), "createdAt")
    ok("fineGrained" not in at, "no fineGrained for read tokens")
    fg = m.req("GET", "/api/whoami-v2", token=e.tok_fg).json()["auth"]["accessToken"]
    eq(fg["role"], "fineGrained")
    ok({"canReadGatedRepos", "global", "scoped"} <= set(fg["fineGrained"]), "fineGrained keys")
    eq(m.req("GET", "/api/whoami-v2", token=e.tok_denied).json()["name"], "bob")
    for tok in ("hf_notARealTokenAtAll", None):
        r = m.req("GET", "/api/whoami-v2", token=tok)
        eq(r.status, 401, f"whoami {tok}")
        eq(r.body, b'{"error":"Invalid credentials in Authorization header"}')


# -- repo info --------------------------------------------------------------------

@test
def repo_info(e):
    m = e.m
    for path in (f"/api/models/{REPO}", f"/api/models/{REPO}/revision/main",
                 f"/api/models/{REPO}/revision/v1.0", f"/api/models/{REPO}/revision/HEAD",
                 f"/api/models/{REPO}/revision/{e.c1}", f"/api/models/{REPO}/revision/{e.c1[:7]}",
                 f"/api/models/{REPO}/revision/refs%2Fheads%2Fmain"):
        r = m.req("GET", path)          # metadata of a gated repo stays public
        eq(r.status, 200, path)
        d = r.json()
        eq(d["sha"], e.c1, path)
        eq(d["id"], REPO)
        eq(d["gated"], "manual")
        eq((d["private"], d["disabled"]), (False, False))
        eq(sorted(s["rfilename"] for s in d["siblings"]),
           [".gitattributes", "README.md", "codec.pth", "config.json", "model.pth",
            "special_tokens.json", "tokenizer.tiktoken"])
        ok(b"xetHash" not in r.body and b"xet" not in r.body.lower(), "no xet in repo info")
    eq(m.req("GET", f"/api/models/{REPO}/revision/refs%2Fpr%2F1").json()["sha"], e.c2)
    eq(m.req("GET", f"/api/models/{REPO}/revision/{e.c2}").json()["sha"], e.c2)
    eq(m.req("GET", "/api/datasets/google/fleurs/revision/main").status, 200)
    eq(m.req("GET", "/api/models/gpt2/revision/main").json()["id"], "gpt2")
    eq(m.req("GET", "/api/models/gpt2").status, 200)


@test
def repo_info_blobs_and_expand(e):
    m = e.m
    man = m.files(repo=REPO)
    for q in ("blobs=true", "blobs=True"):
        d = m.req("GET", f"/api/models/{REPO}/revision/main?{q}").json()
        sib = {s["rfilename"]: s for s in d["siblings"]}
        s = sib["model.pth"]
        eq(s["size"], MODEL_SIZE)
        eq(s["lfs"]["sha256"], man["model.pth"]["sha256"])
        eq(s["lfs"]["size"], MODEL_SIZE)
        ok(120 < s["lfs"]["pointerSize"] < 140, "pointerSize")
        eq(s["blobId"], man["model.pth"]["oid"])
        c = sib["config.json"]
        eq(c["blobId"], man["config.json"]["git_sha1"])
        ok("lfs" not in c, "no lfs for config.json")
    d = m.req("GET", f"/api/models/{REPO}?expand=sha&expand=siblings").json()
    eq(set(d), {"_id", "id", "sha", "siblings"})


@test
def repo_info_errors(e):
    m = e.m
    r = m.req("GET", "/api/models/nobody/nothing")
    eq(r.status, 401, "anonymous missing")
    eq(r.h("X-Error-Message"), "Invalid username or password.")
    eq(r.h("X-Error-Code"), None, "anonymous 401 carries no X-Error-Code")
    ok((r.h("WWW-Authenticate") or "").startswith("Bearer "), "WWW-Authenticate")
    eq(r.json(), {"error": "Invalid username or password."})
    r = m.req("GET", "/api/models/nobody/nothing", token=e.tok_ok)
    eq((r.status, r.h("X-Error-Code")), (404, "RepoNotFound"), "authenticated missing")
    r = m.req("GET", "/api/models/alice/private-model")
    eq(r.status, 401, "private anonymous")
    r = m.req("GET", "/api/models/alice/private-model", token=e.tok_denied)
    eq((r.status, r.h("X-Error-Code")), (404, "RepoNotFound"), "private, other user")
    eq(m.req("GET", "/api/models/alice/private-model", token=e.tok_ok).status, 200, "owner")
    r = m.req("GET", "/api/models/acme/disabled-model")
    eq((r.status, r.h("X-Error-Message")), (403, "Access to this resource is disabled."))
    r = m.req("GET", f"/api/models/{REPO}/revision/nope")
    eq((r.status, r.h("X-Error-Code"), r.h("X-Error-Message")),
       (404, "RevisionNotFound", "Invalid rev id: nope"))
    eq(r.json(), {"error": "Invalid rev id: nope"})
    r = m.req("GET", f"/api/models/{REPO}/revision/refs/pr/1")
    eq(r.status, 404, "unencoded refs/pr/1")
    r = m.req("GET", f"/api/models/{REPO}", token="hf_unknownTokenXYZ")
    eq((r.status, r.h("X-Error-Message")), (401, "Invalid credentials in Authorization header"))
    eq(m.req("GET", "/api/nothing-here").status, 404)


# -- tree, refs, paths-info ------------------------------------------------------------

@test
def tree_listing(e):
    m = e.m
    d = m.req("GET", "/api/datasets/google/fleurs/tree/main?recursive=false&expand=false").json()
    eq([(x["type"], x["path"]) for x in d],
       [("directory", "data"), ("file", ".gitattributes"), ("file", "README.md")])
    d = m.req("GET", "/api/datasets/google/fleurs/tree/main?recursive=true&expand=false").json()
    eq([x["path"] for x in d], [".gitattributes", "README.md", "data", "data/fi_fi",
                                "data/fi_fi/audio", "data/fi_fi/audio/train.tar.gz",
                                "data/fi_fi/train.tsv"])
    tgz = {x["path"]: x for x in d}["data/fi_fi/audio/train.tar.gz"]
    eq(set(tgz), {"type", "oid", "size", "path", "lfs"})
    eq(set(tgz["lfs"]), {"oid", "size", "pointerSize"})
    ok(all("xetHash" not in x for x in d), "no xetHash")
    d = m.req("GET", "/api/datasets/google/fleurs/tree/main/data%2Ffi_fi?recursive=False").json()
    eq([(x["type"], x["path"]) for x in d],
       [("directory", "data/fi_fi/audio"), ("file", "data/fi_fi/train.tsv")])
    d = m.req("GET", "/api/datasets/google/fleurs/tree/main/data/fi_fi").json()
    eq(len(d), 2, "unencoded sub-path")
    d = m.req("GET", f"/api/models/{REPO}/tree/{e.c1}?recursive=true&expand=true").json()
    ok(all(x["lastCommit"]["id"] == e.c1 for x in d), "expand adds lastCommit")
    man = m.files(repo=REPO)
    for x in m.req("GET", f"/api/models/{REPO}/tree/main?recursive=true").json():
        eq(x["oid"], man[x["path"]]["oid"], x["path"])
        if x["path"].endswith(".pth"):
            eq(x["lfs"]["oid"], man[x["path"]]["sha256"])
    r = m.req("GET", "/api/datasets/google/fleurs/tree/main/nope")
    eq((r.status, r.h("X-Error-Code")), (404, "EntryNotFound"))
    r = m.req("GET", "/api/datasets/google/fleurs/tree/badrev")
    eq((r.status, r.h("X-Error-Code")), (404, "RevisionNotFound"))


@test
def tree_pagination(e):
    m = e.m
    full = m.req("GET", "/api/models/acme/many-files/tree/main?recursive=true&expand=false")
    eq(full.h("Link"), None, "no Link when one page")
    full = full.json()
    m.ctl("set", {"tree_page_size": 4})
    try:
        url = f"{m.hub}/api/models/acme/many-files/tree/main?recursive=true&expand=false"
        got, pages = [], 0
        while url:
            r = m.req("GET", url)
            eq(r.status, 200)
            got += r.json()
            pages += 1
            link = r.h("Link")
            url = None
            if link:
                mm = re.fullmatch(r'<([^>]+)>; rel="next"', link)
                ok(mm, f"Link format: {link}")
                url = mm.group(1)
                ok(url.startswith(m.hub + "/api/models/acme/many-files/tree/main?"),
                   f"absolute Link on the mock: {url}")
                ok("recursive=true" in url and "cursor=" in url, "Link keeps params")
        eq(got, full, "pages concatenate to the full listing")
        eq(pages, (len(full) + 3) // 4, "page count")
    finally:
        m.ctl("set", {"tree_page_size": 1000})


@test
def refs_and_paths_info(e):
    m = e.m
    d = m.req("GET", f"/api/models/{REPO}/refs").json()
    eq(d["branches"], [{"name": "main", "ref": "refs/heads/main", "targetCommit": e.c1}])
    eq(d["tags"], [{"name": "v1.0", "ref": "refs/tags/v1.0", "targetCommit": e.c1}])
    ok("pullRequests" not in d, "no PRs unless asked")
    d = m.req("GET", f"/api/models/{REPO}/refs?include_prs=1").json()
    eq(d["pullRequests"][0]["targetCommit"], e.c2)
    r = m.req("POST", f"/api/models/{REPO}/paths-info/main",
              {"Content-Type": "application/x-www-form-urlencoded"},
              b"paths=config.json&paths=model.pth&paths=missing&expand=false")
    eq([x["path"] for x in r.json()], ["config.json", "model.pth"])
    r = m.req("POST", "/api/datasets/google/fleurs/paths-info/main",
              {"Content-Type": "application/json"},
              json.dumps({"paths": ["data/fi_fi", "README.md"], "expand": True}).encode())
    d = r.json()
    eq([(x["type"], x["path"]) for x in d], [("directory", "data/fi_fi"), ("file", "README.md")])
    ok("lastCommit" in d[1], "expand via JSON")


# -- resolve -----------------------------------------------------------------------

@test
def resolve_small_file(e):
    m = e.m
    man = m.files(repo=REPO)
    url = f"/{REPO}/resolve/main/config.json"
    h = m.req("HEAD", url, {"Accept-Encoding": "identity"}, token=e.tok_ok)
    eq(h.status, 200)
    g = m.req("GET", url, token=e.tok_ok)
    eq(g.status, 200)
    eq(h.h("ETag"), f'"{git_sha1(g.body)}"', "ETag is the git blob sha1")
    eq(h.h("X-Repo-Commit"), e.c1)
    eq(int(h.h("Content-Length")), len(g.body))
    eq(h.h("Accept-Ranges"), "bytes")
    eq(h.h("Content-Encoding"), None)
    eq(h.h("Content-Disposition"),
       "inline; filename*=UTF-8''config.json; filename=\"config.json\";")
    for k in ("X-Xet-Hash", "X-Xet-Refresh-Route", "Link", "X-Linked-Size"):
        eq(h.h(k), None, k)
    ok(b'"model_type": "dual_ar"' in g.body, "config.json content")
    eq(sha256(g.body), man["config.json"]["sha256"])
    r = m.req("GET", url, {"Range": "bytes=0-9"}, token=e.tok_ok)
    eq((r.status, r.body, r.h("Content-Range")),
       (206, g.body[:10], f"bytes 0-9/{len(g.body)}"))
    tk = m.req("GET", f"/{REPO}/resolve/main/tokenizer.tiktoken", token=e.tok_ok)
    eq((tk.status, len(tk.body)), (200, 300 * 1024))
    eq(tk.h("ETag"), f'"{git_sha1(tk.body)}"')
    eq(sha256(tk.body), man["tokenizer.tiktoken"]["sha256"])
    with open(man["tokenizer.tiktoken"]["data_file"], "rb") as f:
        eq(f.read(), tk.body, "data_file matches")


@test
def resolve_lfs_via_cdn(e):
    m = e.m
    man = m.files(repo=REPO)
    h, g = cdn_get(m, "model.pth", token=e.tok_ok)
    loc = h.h("Location")
    ok(loc.startswith(f"{m.cdn}/"), f"absolute CDN Location: {loc}")
    ok("Expires=" in loc and "X-Amz-Signature=" in loc, "signed URL")
    eq(h.h("X-Linked-Etag"), f'"{man["model.pth"]["sha256"]}"')
    eq(h.h("X-Linked-Size"), str(MODEL_SIZE))
    eq(h.h("X-Repo-Commit"), e.c1)
    ok(int(h.h("Content-Length")) != MODEL_SIZE, "3xx Content-Length is the redirect body")
    eq(g.status, 200)
    eq(len(g.body), MODEL_SIZE)
    eq(sha256(g.body), man["model.pth"]["sha256"])
    ok(g.h("ETag").strip('"') != man["model.pth"]["sha256"], "CDN ETag is not the sha256")
    eq(g.h("X-Repo-Commit"), None)
    eq(g.h("Content-Disposition"), "inline; filename*=UTF-8''model.pth; filename=\"model.pth\";")
    # GET on the resolve URL redirects the same way
    r = m.req("GET", f"/{REPO}/resolve/main/model.pth", token=e.tok_ok)
    eq(r.status, 302)
    ok(r.body.startswith(b"Found. Redirecting to http"), "redirect body")
    e.model_body = g.body


@test
def cdn_ranges(e):
    m = e.m
    h, full = cdn_get(m, "model.pth", token=e.tok_ok)
    loc, size, body = h.h("Location"), MODEL_SIZE, full.body
    etag = full.h("ETag")
    cases = [("bytes=0-9", 0, 9), ("bytes=10-", 10, size - 1), ("bytes=-5", size - 5, size - 1),
             (f"bytes=5-{size * 3}", 5, size - 1), ("bytes=-999999999", 0, size - 1),
             (f"bytes={size - 1}-{size - 1}", size - 1, size - 1)]
    for rng, a, b in cases:
        r = m.req("GET", loc, {"Range": rng})
        eq(r.status, 206, rng)
        eq(r.h("Content-Range"), f"bytes {a}-{b}/{size}", rng)
        eq(r.body, body[a:b + 1], rng)
        eq(int(r.h("Content-Length")), b - a + 1, rng)
    for rng in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        r = m.req("GET", loc, {"Range": rng})
        eq((r.status, r.h("Content-Range")), (416, f"bytes */{size}"), rng)
    for rng in ("bytes=abc", "items=0-1", "bytes=5-2", "bytes=0-1,5-6"):
        r = m.req("GET", loc, {"Range": rng})
        eq((r.status, len(r.body)), (200, size), f"ignored {rng}")
    r = m.req("GET", loc, {"Range": "bytes=0-9", "If-Range": '"stale"'})
    eq((r.status, len(r.body)), (200, size), "If-Range mismatch -> 200")
    r = m.req("GET", loc, {"Range": "bytes=0-9", "If-Range": etag})
    eq(r.status, 206, "If-Range match")
    r = m.req("HEAD", loc)
    eq((r.status, r.h("Content-Length"), r.h("Accept-Ranges")), (200, str(size), "bytes"))


@test
def zero_length_and_odd_names(e):
    m = e.m
    for method in ("HEAD", "GET"):
        for hdr in ({}, {"Range": "bytes=0-"}):
            r = m.req(method, "/acme/many-files/resolve/main/empty.txt", hdr)
            eq((r.status, r.h("Content-Length"), r.h("Content-Range"), r.body),
               (200, "0", None, b""), f"{method} empty {hdr}")
    r = m.req("HEAD", "/acme/many-files/resolve/main/empty.txt")
    eq(r.h("ETag"), f'"{git_sha1(b"")}"')
    r = m.req("GET", "/acme/many-files/resolve/main/" + urllib.parse.quote("dir/with space+plus.txt"))
    eq((r.status, r.body), (200, b"odd name\n"))
    ok("filename*=UTF-8''with%20space%2Bplus.txt" in r.h("Content-Disposition"), "disposition")
    r = m.req("GET", "/acme/many-files/resolve/main/external.dat")
    eq(r.body, b"external file content\n" * 10)
    r = m.req("GET", "/gpt2/resolve/main/config.json")
    eq((r.status, r.body), (200, b"{}\n"), "legacy single-segment id")


@test
def resolve_errors_and_gating(e):
    m = e.m
    url = f"/{REPO}/resolve/main/config.json"
    r = m.req("HEAD", url)
    eq((r.status, r.h("X-Error-Code"), r.h("X-Error-Message")),
       (401, "GatedRepo", f"Access to model {REPO} is restricted. You must have access to it "
                          "and be authenticated to access it. Please log in."))
    r = m.req("GET", url, token=e.tok_denied)
    msg = (f"Access to model {REPO} is restricted and you are not in the authorized list. "
           f"Visit https://huggingface.co/{REPO} to ask for access.")
    eq((r.status, r.h("X-Error-Code"), r.h("X-Error-Message")), (403, "GatedRepo", msg))
    eq(r.body.decode(), msg, "resolve error body is plain text like the live Hub")
    m.ctl("grant", {"token": e.tok_denied, "repo": REPO})
    eq(m.req("HEAD", url, token=e.tok_denied).status, 200, "after grant")
    m.ctl("revoke", {"token": e.tok_denied, "repo": REPO})
    eq(m.req("HEAD", url, token=e.tok_denied).status, 403, "after revoke")
    r = m.req("HEAD", f"/{REPO}/resolve/main/nope.bin", token=e.tok_ok)
    eq((r.status, r.h("X-Error-Code"), r.h("X-Error-Message"), r.h("X-Repo-Commit")),
       (404, "EntryNotFound", "Entry not found", e.c1))
    r = m.req("GET", f"/{REPO}/resolve/badrev/config.json", token=e.tok_ok)
    eq((r.status, r.h("X-Error-Code"), r.h("X-Error-Message")),
       (404, "RevisionNotFound", "Invalid rev id: badrev"))
    r = m.req("HEAD", "/nobody/nothing/resolve/main/x")
    eq((r.status, r.h("X-Error-Code"), r.h("X-Error-Message")),
       (401, None, "Invalid username or password."))
    r = m.req("HEAD", "/nobody/nothing/resolve/main/x", token=e.tok_ok)
    eq((r.status, r.h("X-Error-Code")), (404, "RepoNotFound"))
    r = m.req("HEAD", "/acme/disabled-model/resolve/main/README.md", token=e.tok_ok)
    eq((r.status, r.h("X-Error-Message")), (403, "Access to this resource is disabled."))
    r = m.req("HEAD", url, token="hf_thisTokenDoesNotExist")
    eq((r.status, r.h("X-Error-Message")), (401, "Invalid credentials in Authorization header"))
    r = m.req("HEAD", "/datasets/google/fleurs/resolve/main/nope")
    eq(r.h("X-Error-Code"), "EntryNotFound", "public dataset, anonymous")
    m.ctl("set", {"resolve_error_body": "json"})
    try:
        r = m.req("GET", f"/{REPO}/resolve/main/nope.bin", token=e.tok_ok)
        eq(r.json(), {"error": "Entry not found"})
    finally:
        m.ctl("set", {"resolve_error_body": "text"})


@test
def resolve_revisions(e):
    m = e.m
    for rev, commit in (("refs%2Fpr%2F1", e.c2), (e.c2, e.c2), (e.c2[:10], e.c2), ("v1.0", e.c1),
                        (e.c1, e.c1)):
        r = m.req("HEAD", f"/{REPO}/resolve/{rev}/config.json", token=e.tok_ok)
        eq((r.status, r.h("X-Repo-Commit")), (200, commit), rev)
    a = m.req("HEAD", f"/{REPO}/resolve/main/model.pth", token=e.tok_ok).h("X-Linked-Etag")
    b = m.req("HEAD", f"/{REPO}/resolve/refs%2Fpr%2F1/model.pth", token=e.tok_ok).h("X-Linked-Etag")
    ok(a != b, "model.pth differs in the second commit")
    c = m.req("HEAD", f"/{REPO}/resolve/refs%2Fpr%2F1/codec.pth", token=e.tok_ok)
    eq(c.h("X-Linked-Etag"), m.req("HEAD", f"/{REPO}/resolve/main/codec.pth",
                                   token=e.tok_ok).h("X-Linked-Etag"), "codec.pth unchanged")


@test
def dataset_tarball(e):
    m = e.m
    _, g = cdn_get(m, "data/fi_fi/audio/train.tar.gz", repo="datasets/google/fleurs")
    eq(g.status, 200)
    with tarfile.open(fileobj=io.BytesIO(g.body), mode="r:gz") as t:
        names = t.getnames()
        eq(names, ["train/10001.wav", "train/10002.wav", "train/10003.wav"])
        ok(t.extractfile(names[0]).read(4) == b"RIFF", "wav header")
    tsv = m.req("GET", "/datasets/google/fleurs/resolve/main/data/fi_fi/train.tsv").body.decode()
    eq(len(tsv.splitlines()), 3)
    ok(tsv.split("\t")[1] == "10001.wav", "tsv file name column")


@test
def renamed_repo(e):
    m = e.m
    r = m.req("HEAD", "/fishaudio/s1-mini/resolve/main/config.json", token=e.tok_ok)
    eq((r.status, r.h("Location")), (307, f"/{REPO}/resolve/main/config.json"))
    r = m.req("GET", "/api/models/fishaudio/s1-mini/revision/main?blobs=true")
    eq((r.status, r.h("Location")), (307, f"/api/models/{REPO}/revision/main?blobs=true"))
    eq(r.body, f"Temporary Redirect. Redirecting to /api/models/{REPO}/revision/main?blobs=true"
       .encode())
    r = m.req("GET", "/api/models/fishaudio/s1-mini")
    eq(r.h("Location"), f"/api/models/{REPO}")
    eq(m.req("GET", r.h("Location")).status, 200, "follow the 307")


@test
def cdn_signature_and_expiry(e):
    m = e.m
    h = m.req("HEAD", f"/{REPO}/resolve/main/codec.pth", token=e.tok_ok)
    loc = h.h("Location")
    eq(m.req("HEAD", loc).status, 200)
    bad = re.sub(r"X-Amz-Signature=[0-9a-f]{4}", "X-Amz-Signature=0000", loc)
    r = m.req("GET", bad)
    eq(r.status, 403, "tampered signature")
    ok(b"SignatureDoesNotMatch" in r.body, "S3-style error")
    eq(m.req("GET", loc.split("?")[0]).status, 403, "query dropped")
    m.ctl("set", {"cdn_url_ttl": -5})
    try:
        loc = m.req("HEAD", f"/{REPO}/resolve/main/codec.pth", token=e.tok_ok).h("Location")
        r = m.req("GET", loc)
        eq(r.status, 403, "expired")
        ok(b"Request has expired" in r.body, "expired message")
    finally:
        m.ctl("set", {"cdn_url_ttl": 3600})
    m.ctl("set", {"cdn_reject_auth": True})
    try:
        eq(m.req("HEAD", loc.replace("Expires=", "Expires=9"), token=e.tok_ok).status, 400,
           "cdn_reject_auth")
    finally:
        m.ctl("set", {"cdn_reject_auth": False})


@test
def hub_options(e):
    m = e.m
    man = m.files(repo=REPO)
    m.ctl("set", {"small_file_threshold": 8 * 1024 * 1024})
    try:
        r = m.req("HEAD", f"/{REPO}/resolve/main/model.pth", token=e.tok_ok)
        eq(r.status, 200, "LFS file below threshold served by the Hub")
        eq((r.h("ETag"), r.h("X-Linked-Etag")), (f'"{man["model.pth"]["sha256"]}"',) * 2)
        eq(r.h("X-Linked-Size"), str(MODEL_SIZE))
    finally:
        m.ctl("set", {"small_file_threshold": 0})
    m.ctl("set", {"small_file_redirect": True})
    try:
        r = m.req("HEAD", f"/{REPO}/resolve/main/config.json", token=e.tok_ok)
        eq(r.status, 307)
        loc = r.h("Location")
        ok(loc.startswith(f"/api/resolve-cache/models/{REPO}/{e.c1}/config.json?"), loc)
        eq(r.h("X-Linked-Etag"), f'"{man["config.json"]["git_sha1"]}"')
        eq(r.h("X-Repo-Commit"), e.c1)
        r2 = m.req("HEAD", loc.split("?")[0], token=e.tok_ok)
        eq((r2.status, r2.h("ETag"), r2.h("X-Repo-Commit")),
           (200, f'"{man["config.json"]["git_sha1"]}"', e.c1))
        eq(m.req("HEAD", loc.split("?")[0]).status, 401, "resolve-cache is gated too")
    finally:
        m.ctl("set", {"small_file_redirect": False})
    m.ctl("set", {"gzip_text": True})
    try:
        url = f"/{REPO}/resolve/main/README.md"
        r = m.req("GET", url, {"Accept-Encoding": "gzip, deflate"}, token=e.tok_ok)
        eq((r.status, r.h("Content-Encoding"), r.h("Transfer-Encoding")), (200, "gzip", "chunked"))
        plain = m.req("GET", url, {"Accept-Encoding": "identity"}, token=e.tok_ok)
        eq(plain.h("Content-Encoding"), None)
        eq(gzip.decompress(r.body), plain.body)
    finally:
        m.ctl("set", {"gzip_text": False})


@test
def misc_endpoints(e):
    m = e.m
    eq(m.req("HEAD", "/api/telemetry/bootstrap/download").status, 200)
    eq(m.req("GET", "/api/agent-harnesses").status, 404)
    eq(m.req("POST", f"/api/models/{REPO}").status, 405)
    eq(m.req("GET", "/not/a/hub/url").status, 404)


# -- faults ------------------------------------------------------------------------

def one(m, match, seq, then=None):
    rule = {"match": match, "sequence": seq}
    if then:
        rule["then"] = then
    m.faults([rule])


@test
def fault_status_sequences(e):
    m = e.m
    url = f"/{REPO}/resolve/main/config.json"
    try:
        one(m, {"origin": "hub", "path_regex": r"config\.json$"},
            [{"status": 503, "retry_after": "2"}], then="ok")
        r = m.req("HEAD", url, token=e.tok_ok)
        eq((r.status, r.h("Retry-After")), (503, "2"))
        eq(m.req("HEAD", url, token=e.tok_ok).status, 200, "then ok")
        date = "Wed, 21 Oct 2015 07:28:00 GMT"
        one(m, {"path_regex": "config"}, [{"status": 429, "retry_after": date}])
        eq(m.req("GET", url, token=e.tok_ok).h("Retry-After"), date)
        one(m, {"path_regex": "config"}, [{"status": 500}, {"status": 502}])
        eq([m.req("HEAD", url, token=e.tok_ok).status for _ in range(3)], [500, 502, 502],
           "last action repeats")
        one(m, {"path_regex": "config"}, [{"ok": True}, {"status": 500}], then="ok")
        eq([m.req("HEAD", url, token=e.tok_ok).status for _ in range(3)], [200, 500, 200])
        one(m, {"path_regex": "config", "method": "GET"}, [{"status": 500}])
        eq(m.req("HEAD", url, token=e.tok_ok).status, 200, "method filter")
        eq(m.req("GET", url, token=e.tok_ok).status, 500, "method filter GET")
        one(m, {"path_regex": "config", "range": True}, [{"status": 500}])
        eq(m.req("GET", url, token=e.tok_ok).status, 200, "range filter")
        eq(m.req("GET", url, {"Range": "bytes=0-1"}, token=e.tok_ok).status, 500)
        one(m, {"path_regex": "config"},
            [{"status": 403, "error_code": "GatedRepo", "error_message": "nope", "headers": {"X-A": "1"}}])
        r = m.req("HEAD", url, token=e.tok_ok)
        eq((r.status, r.h("X-Error-Code"), r.h("X-Error-Message"), r.h("X-A")),
           (403, "GatedRepo", "nope", "1"))
        rules = m.ctl("faults", method="GET")["rules"]
        eq(rules[0]["hits"], 1, "hits counted")
    finally:
        m.faults([])


@test
def fault_connection_drops(e):
    m = e.m
    h = m.req("HEAD", f"/{REPO}/resolve/main/model.pth", token=e.tok_ok)
    loc = h.h("Location")
    try:
        one(m, {"origin": "cdn"}, [{"close_after_bytes": 1000}], then="ok")
        try:
            m.req("GET", loc)
            raise AssertionError("expected IncompleteRead")
        except http.client.IncompleteRead as ex:
            eq(len(ex.partial), 1000, "bytes before the drop")
        eq(len(m.req("GET", loc).body), MODEL_SIZE, "then ok")
        one(m, {"origin": "cdn"}, [{"close_before_headers": True}], then="ok")
        try:
            m.req("GET", loc)
            raise AssertionError("expected RemoteDisconnected")
        except http.client.RemoteDisconnected:
            pass
        one(m, {"origin": "cdn"}, [{"wrong_content_length": 100}], then="ok")
        try:
            m.req("GET", loc, {"Range": "bytes=0-999"})
            raise AssertionError("expected IncompleteRead")
        except http.client.IncompleteRead as ex:
            eq(len(ex.partial), 1000, "all real bytes, then close")
        one(m, {"origin": "cdn"}, [{"wrong_content_length": -100}], then="ok")
        r = m.req("GET", loc, {"Range": "bytes=0-999"})
        eq((r.status, len(r.body), r.h("Content-Length")), (206, 900, "900"))
        eq(r.body, e.model_body[:900])
        one(m, {"origin": "hub", "path_regex": "config"}, [{"wrong_content_length": 5}], then="ok")
        r = m.req("HEAD", f"/{REPO}/resolve/main/config.json", token=e.tok_ok)
        eq(int(r.h("Content-Length")), len(fake_config(e)) + 5, "HEAD Content-Length skewed")
    finally:
        m.faults([])


def fake_config(e):
    return e.m.req("GET", f"/{REPO}/resolve/main/config.json", token=e.tok_ok).body


@test
def fault_slow_and_altered_bodies(e):
    m = e.m
    loc = m.req("HEAD", f"/{REPO}/resolve/main/model.pth", token=e.tok_ok).h("Location")
    try:
        one(m, {"origin": "cdn"}, [{"delay_ms": 300}], then="ok")
        t = time.monotonic()
        eq(m.req("HEAD", loc).status, 200)
        ok(time.monotonic() - t >= 0.29, "delay_ms")
        one(m, {"origin": "cdn"}, [{"drip_bps": 50000}], then="ok")
        t = time.monotonic()
        r = m.req("GET", loc, {"Range": "bytes=0-24999"})
        dt = time.monotonic() - t
        eq(r.body, e.model_body[:25000])
        ok(0.4 <= dt < 2.0, f"drip_bps took {dt:.2f}s")
        one(m, {"origin": "cdn"}, [{"ignore_range": True}], then="ok")
        r = m.req("GET", loc, {"Range": "bytes=100-"})
        eq((r.status, len(r.body), r.h("Content-Range")), (200, MODEL_SIZE, None))
        one(m, {"origin": "cdn"}, [{"corrupt_byte_at": 12345}], then="ok")
        r = m.req("GET", loc)
        diff = [i for i in range(len(r.body)) if r.body[i] != e.model_body[i]] \
            if len(r.body) < 100 else None
        ok(r.body[12345] == e.model_body[12345] ^ 0xFF, "byte 12345 flipped")
        ok(r.body[:12345] == e.model_body[:12345] and r.body[12346:] == e.model_body[12346:],
           f"only one byte differs {diff}")
        one(m, {"origin": "cdn"}, [{"corrupt_byte_at": 12345}], then="ok")
        r = m.req("GET", loc, {"Range": "bytes=12340-12349"})
        eq(r.body, e.model_body[12340:12345] + bytes([e.model_body[12345] ^ 0xFF])
           + e.model_body[12346:12350], "absolute offset inside a range")
        one(m, {"origin": "cdn"}, [{"status_416": True}], then="ok")
        r = m.req("GET", loc, {"Range": "bytes=0-1"})
        eq((r.status, r.h("Content-Range")), (416, f"bytes */{MODEL_SIZE}"))
        one(m, {"origin": "hub"}, [{"omit_headers": ["X-Repo-Commit", "X-Linked-Size"]}], then="ok")
        r = m.req("HEAD", f"/{REPO}/resolve/main/model.pth", token=e.tok_ok)
        eq((r.status, r.h("X-Repo-Commit"), r.h("X-Linked-Size")), (302, None, None))
    finally:
        m.faults([])


@test
def fault_redirects_and_token(e):
    m = e.m
    url = f"/{REPO}/resolve/main/config.json"
    try:
        one(m, {"origin": "hub", "path_regex": "config"}, [{"redirect_loop": True}])
        r = m.req("HEAD", url, token=e.tok_ok)
        eq((r.status, r.h("Location")), (302, url))
        one(m, {"origin": "hub", "path_regex": "config"},
            [{"redirect_to": "http://other-host.invalid:1/x"}])
        r = m.req("HEAD", url, token=e.tok_ok)
        eq((r.status, r.h("Location")), (302, "http://other-host.invalid:1/x"))
        one(m, {"origin": "hub", "path_regex": "config"},
            [{"redirect_to": "{cdn}{path}?{query}", "redirect_status": 307}])
        r = m.req("HEAD", url + "?a=1", token=e.tok_ok)
        eq((r.status, r.h("Location")), (307, f"{m.cdn}{url}?a=1"))
        one(m, {"origin": "cdn"}, [{"redirect_loop": True}])
        loc = m.req("HEAD", f"/{REPO}/resolve/main/model.pth", token=e.tok_ok).h("Location")
        eq(m.req("GET", loc).h("Location"), loc, "CDN loop points at itself")
        one(m, {"origin": "hub", "path_regex": "/tree/"}, [{"require_token": True}])
        eq(m.req("GET", f"/api/models/{REPO}/tree/main").status, 401)
        eq(m.req("GET", f"/api/models/{REPO}/tree/main", token=e.tok_ok).status, 200)
    finally:
        m.faults([])


@test
def fault_etag_change(e):
    m = e.m
    try:
        for name in ("victim.bin", "victim.txt"):
            url = f"/acme/many-files/resolve/main/{name}"
            before = m.files(repo="acme/many-files")[name]
            lfs = name.endswith(".bin")
            one(m, {"origin": "hub", "path_regex": re.escape(name)}, [{"etag_change": True}],
                then="ok")
            r = m.req("HEAD", url)
            tag = r.h("X-Linked-Etag" if lfs else "ETag").strip('"')
            after = m.files(repo="acme/many-files")[name]
            ok(tag != before["etag"], f"{name}: new etag")
            eq(tag, after["etag"], f"{name}: manifest follows")
            eq(after["size"], before["size"], "same size")
            body = m.req("GET", r.h("Location")).body if lfs else m.req("GET", url).body
            eq(sha256(body), after["sha256"], f"{name}: new content served")
            m.faults([])
            tree = {x["path"]: x for x in m.req("GET", "/api/models/acme/many-files/tree/main").json()}
            eq(tree[name]["oid"], after["oid"], "tree follows")
        # on the CDN: the old URL now serves different bytes under a new CDN ETag
        loc = m.req("HEAD", "/acme/many-files/resolve/main/big.bin").h("Location")
        old = m.req("GET", loc)
        one(m, {"origin": "cdn"}, [{"etag_change": True}], then="ok")
        new = m.req("GET", loc)
        ok(new.body != old.body and new.h("ETag") != old.h("ETag"), "CDN content changed")
        eq(len(new.body), len(old.body))
        r = m.req("GET", loc, {"Range": "bytes=0-9", "If-Range": old.h("ETag")})
        eq(r.status, 200, "If-Range with the old CDN ETag gets the full new body")
        eq(m.req("HEAD", "/acme/many-files/resolve/main/big.bin").h("X-Linked-Etag").strip('"'),
           sha256(new.body), "Hub metadata follows the CDN change")
    finally:
        m.faults([])


@test
def fault_file_match_and_scenarios(e):
    m = e.m
    try:
        one(m, {"origin": "cdn", "file": r"(^|/)model\.pth$"}, [{"status": 500}])
        _, g = cdn_get(m, "model.pth", token=e.tok_ok)
        eq(g.status, 500, "CDN request for model.pth matched by file")
        _, g = cdn_get(m, "codec.pth", token=e.tok_ok)
        eq(g.status, 200, "codec.pth not matched")
        one(m, {"origin": "hub", "file": "^data/fi_fi/"}, [{"status": 500}])
        eq(m.req("GET", "/datasets/google/fleurs/resolve/main/data/fi_fi/train.tsv").status, 500)
        eq(m.req("GET", "/datasets/google/fleurs/resolve/main/README.md").status, 200)
        eq(m.req("GET", "/api/datasets/google/fleurs/tree/main/data%2Ffi_fi").status, 200,
           "file never matches API calls")
        sdir = os.path.join(HERE, "scenarios")
        names = sorted(n for n in os.listdir(sdir) if n.endswith(".json"))
        ok(len(names) >= 5, "scenario files present")
        for n in names:
            with open(os.path.join(sdir, n), "rb") as f:
                r = m.req("POST", "/_mock/faults", {"Content-Type": "application/json"}, f.read())
            eq(r.status, 200, f"scenario {n}: {r.body!r}")
        # a scenario's options are applied (live-hub-quirks: tree pages of 2)
        with open(os.path.join(sdir, "live-hub-quirks.json"), "rb") as f:
            m.req("POST", "/_mock/faults", {"Content-Type": "application/json"}, f.read())
        ok(m.req("GET", "/api/datasets/google/fleurs/tree/main?recursive=true").h("Link"),
           "scenario options applied")
    finally:
        m.faults([])
        m.ctl("set", {"tree_page_size": 1000, "small_file_redirect": False, "gzip_text": False,
                      "cdn_rate_bps": 0})


@test
def fault_script_validation(e):
    m = e.m
    for bad in ([{"sequence": [{"explode": True}]}], [{"match": {"path_regex": "("}, "sequence": [{"ok": True}]}],
                [{"match": {"origin": "moon"}, "sequence": [{"ok": True}]}], [{"sequence": []}],
                {"not": "a list"}):
        r = m.req("POST", "/_mock/faults", {"Content-Type": "application/json"},
                  json.dumps(bad).encode())
        eq(r.status, 400, f"rejected {bad}")
    m.faults({"rules": [{"match": {"origin": "cdn"}, "sequence": {"delay_ms": 1}}]})
    r = m.req("POST", "/_mock/faults?append=1", {"Content-Type": "application/json"},
              json.dumps([{"sequence": [{"ok": True}]}]).encode())
    eq(r.status, 200)
    eq(len(m.ctl("faults", method="GET")["rules"]), 2, "append")
    m.faults([])


# -- control: move-branch, tokens, repo flags -------------------------------------------

@test
def move_branch(e):
    m = e.m
    try:
        before = m.req("HEAD", f"/{REPO}/resolve/main/model.pth", token=e.tok_ok).h("X-Linked-Etag")
        m.ctl("move-branch", {"repo": REPO, "branch": "main", "commit": e.c2})
        eq(m.req("GET", f"/api/models/{REPO}/revision/main").json()["sha"], e.c2)
        r = m.req("HEAD", f"/{REPO}/resolve/main/model.pth", token=e.tok_ok)
        eq(r.h("X-Repo-Commit"), e.c2)
        ok(r.h("X-Linked-Etag") != before, "new content on main")
        # a pinned commit still serves the old content
        eq(m.req("HEAD", f"/{REPO}/resolve/{e.c1}/model.pth", token=e.tok_ok).h("X-Linked-Etag"),
           before)
        d = m.ctl("move-branch", {"repo": REPO, "branch": "main", "title": "third",
                                  "files": [{"path": "config.json", "text": "{\"v\": 3}\n"},
                                            {"path": "special_tokens.json", "delete": True}]})
        c3 = d["commit"]
        ok(re.fullmatch("[0-9a-f]{40}", c3) and c3 not in (e.c1, e.c2), "new commit id")
        r = m.req("GET", f"/{REPO}/resolve/main/config.json", token=e.tok_ok)
        eq((r.body, r.h("X-Repo-Commit")), (b'{"v": 3}\n', c3))
        eq(m.req("HEAD", f"/{REPO}/resolve/main/special_tokens.json", token=e.tok_ok).status, 404)
        man = m.files(repo=REPO)
        ok("special_tokens.json" not in man and man["config.json"]["commit"] == c3, "manifest")
        eq(m.req("POST", "/_mock/move-branch", {"Content-Type": "application/json"},
                 json.dumps({"repo": REPO, "commit": "f" * 40}).encode()).status, 400)
    finally:
        m.ctl("move-branch", {"repo": REPO, "branch": "main", "commit": e.c1})
    eq(m.req("GET", f"/api/models/{REPO}/revision/main").json()["sha"], e.c1)


@test
def token_and_repo_controls(e):
    m = e.m
    m.ctl("add-token", {"token": "hf_addedAtRunTime", "user": "dave", "role": "write",
                        "granted": [REPO]})
    d = m.req("GET", "/api/whoami-v2", token="hf_addedAtRunTime").json()
    eq((d["name"], d["auth"]["accessToken"]["role"]), ("dave", "write"))
    eq(m.req("HEAD", f"/{REPO}/resolve/main/config.json", token="hf_addedAtRunTime").status, 200)
    m.ctl("remove-token", {"token": "hf_addedAtRunTime"})
    eq(m.req("GET", "/api/whoami-v2", token="hf_addedAtRunTime").status, 401)
    m.ctl("repo-flags", {"repo": REPO, "gated": False})
    try:
        eq(m.req("HEAD", f"/{REPO}/resolve/main/config.json").status, 200, "ungated")
    finally:
        m.ctl("repo-flags", {"repo": REPO, "gated": "manual"})
    eq(m.req("HEAD", f"/{REPO}/resolve/main/config.json").status, 401, "gated again")
    st = m.ctl("state", method="GET")
    ok(all(e.tok_ok not in json.dumps(st) for _ in [0]), "state never shows tokens")


# -- log, stats, keep-alive, concurrency, performance ---------------------------------------

@test
def request_log_and_stats(e):
    m = e.m
    m.ctl("reset")
    eq(m.log(), [], "log reset")
    ua = "bootstrap-selftest/1.0"
    h = m.req("HEAD", f"/{REPO}/resolve/main/model.pth",
              {"User-Agent": ua, "Accept-Encoding": "identity", "X-Amzn-Trace-Id": "trace-1"},
              token=e.tok_ok)
    m.req("GET", h.h("Location"), {"Range": "bytes=0-99", "User-Agent": ua})
    m.req("GET", h.h("Location"), {"Range": "bytes=0-9"}, token=e.tok_ok)    # a leak!
    # the server logs a request after its answer has gone out: wait for the last entry
    for _ in range(200):
        log = m.log()
        if len(log) >= 3:
            break
        time.sleep(0.01)
    eq([(x["origin"], x["method"], x["status"]) for x in log],
       [("hub", "HEAD", 302), ("cdn", "GET", 206), ("cdn", "GET", 206)])
    hub, cdn1, cdn2 = log
    eq((hub["auth"], hub["user_agent"], hub["accept_encoding"], hub["x_amzn_trace_id"]),
       (True, ua, "identity", "trace-1"))
    eq(hub["auth_sha256"], sha256(f"Bearer {e.tok_ok}".encode())[:16])
    ok("authorization" not in hub, "raw token never logged for the Hub")
    eq((cdn1["auth"], cdn1["range"], cdn1["bytes"]), (False, "bytes=0-99", 100))
    eq(cdn2["authorization"], f"Bearer {e.tok_ok}", "raw Authorization logged on the CDN")
    with open(m.log_file) as f:
        text = f.read()
    hub_lines = [ln for ln in text.splitlines() if '"origin": "hub"' in ln]
    ok(hub_lines and all(e.tok_ok not in ln for ln in hub_lines), "file log: no token on hub lines")
    ok(e.tok_ok in text, "file log: CDN leak visible")
    ok(log[-1]["seq"] > log[0]["seq"], "seq increases")
    since = m.ctl(f"log?since={log[1]['seq']}", method="GET").decode().splitlines()
    eq(len(since), 1, "log?since=")
    st = m.ctl("stats", method="GET")
    eq((st["requests"]["hub"], st["requests"]["cdn"], st["bytes"]["cdn"]), (1, 2, 110))
    sha = m.files(repo=REPO)["model.pth"]["sha256"]
    eq(st["blobs"][sha], {"requests": 2, "bytes": 110})
    eq(st["status"]["206"], 2)


@test
def keep_alive(e):
    m = e.m
    m.ctl("reset-log")
    c = m.conn(m.hub)
    for _ in range(3):
        r = m.req("GET", f"/{REPO}/resolve/main/config.json", token=e.tok_ok, conn=c)
        eq(r.status, 200)
    m.req("HEAD", f"/{REPO}/resolve/main/nope", token=e.tok_ok, conn=c)     # errors keep it too
    eq(m.req("GET", f"/api/models/{REPO}", conn=c).status, 200)
    c.close()
    conns = {x["conn"] for x in m.log()}
    eq(len(conns), 1, "one connection for five requests")


@test
def parallel_ranges(e):
    m = e.m
    loc = m.req("HEAD", f"/{REPO}/resolve/main/model.pth", token=e.tok_ok).h("Location")
    n, part = 8, MODEL_SIZE // 8
    out = [None] * n
    errs = []

    def worker(i):
        try:
            a, b = i * part, (MODEL_SIZE - 1 if i == n - 1 else (i + 1) * part - 1)
            r = m.req("GET", loc, {"Range": f"bytes={a}-{b}"})
            out[i] = r.body
        except Exception as ex:        # noqa: BLE001 - reported below
            errs.append(ex)
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    eq(errs, [])
    eq(b"".join(out), e.model_body)


@test
def throughput_and_rate_limit(e):
    m = e.m
    loc = m.req("HEAD", "/perf/blob/resolve/main/blob.bin").h("Location")
    c = m.conn(loc)
    u = urllib.parse.urlsplit(loc)
    t = time.monotonic()
    c.request("GET", f"{u.path}?{u.query}")
    r = c.getresponse()
    n = 0
    while True:
        chunk = r.read(4 * 1024 * 1024)
        if not chunk:
            break
        n += len(chunk)
    dt = time.monotonic() - t
    c.close()
    eq(n, PERF_SIZE)
    rate = n / dt / 1e6
    ok(rate > 150, f"CDN throughput {rate:.0f} MB/s (sendfile)")
    e.note(f"CDN throughput {rate:.0f} MB/s")
    m.ctl("set", {"cdn_rate_bps": 2_000_000})
    try:
        t = time.monotonic()
        r = m.req("GET", loc, {"Range": "bytes=0-999999"})
        dt = time.monotonic() - t
        eq(len(r.body), 1_000_000)
        ok(0.4 <= dt <= 1.5, f"cdn_rate_bps: 1 MB at 2 MB/s took {dt:.2f}s")
    finally:
        m.ctl("set", {"cdn_rate_bps": 0})


# -- separate processes: TLS, signals, CLI ---------------------------------------------------

@test
def tls(e):
    tls_dir = os.path.join(e.work, "tls")
    m = Mock(e.work, e.cfg_path, "tls", tls_dir=tls_dir)
    try:
        for n in ("ca.pem", "server.pem", "server.key", "other-ca.pem", "wrongname.pem",
                  "wrongname.key"):
            ok(os.path.exists(os.path.join(tls_dir, n)), n)
        eq(m.ports["scheme"], "https")
        eq(m.req("GET", "/api/whoami-v2", token=e.tok_ok).json()["name"], "alice")
        h = m.req("HEAD", f"/{REPO}/resolve/main/model.pth", token=e.tok_ok)
        ok(h.h("Location").startswith(f"https://127.0.0.1:{m.ports['cdn']}/"), "https CDN")
        g = m.req("GET", h.h("Location"))
        eq(g.body, e.model_body, "same content over TLS")
        r = m.req("GET", h.h("Location"), {"Range": "bytes=-10"})
        eq((r.status, r.body), (206, e.model_body[-10:]))
        c = m.conn(m.hub)
        for _ in range(2):
            eq(m.req("GET", f"/api/models/{REPO}", conn=c).status, 200, "TLS keep-alive")
        c.close()
        for host in ("localhost", "hub.test"):
            ctx = ssl.create_default_context(cafile=os.path.join(tls_dir, "ca.pem"))
            with socket.create_connection(("127.0.0.1", m.ports["hub"]), 5) as s:
                with ctx.wrap_socket(s, server_hostname=host) as ss:
                    ok(ss.version(), f"cert valid for {host}")
        other = ssl.create_default_context(cafile=os.path.join(tls_dir, "other-ca.pem"))
        try:
            m.req("GET", "/api/whoami-v2", ctx=other)
            raise AssertionError("other CA must not verify")
        except ssl.SSLCertVerificationError:
            pass
    finally:
        eq(m.stop(), 0, "TLS mock exit status")
    m = Mock(e.work, e.cfg_path, "tlswrong", tls_dir=tls_dir, extra=["--tls-wrong-name"])
    try:
        try:
            m.req("GET", "/api/whoami-v2")
            raise AssertionError("wrong name must not verify")
        except ssl.SSLCertVerificationError as ex:
            ok("match" in str(ex).lower() or "hostname" in str(ex).lower(), str(ex))
        ctx = ssl.create_default_context(cafile=os.path.join(tls_dir, "ca.pem"))
        ctx.check_hostname = False
        eq(m.req("GET", "/api/whoami-v2", ctx=ctx, token=e.tok_ok).status, 200,
           "chain is fine, only the name is wrong")
    finally:
        m.stop()


@test
def signals_and_cli(e):
    m = Mock(e.work, e.cfg_path, "sig",
             extra=["--faults", os.path.join(HERE, "scenarios", "hub-503-then-ok.json")])
    eq([m.req("HEAD", f"/{REPO}/resolve/main/config.json", token=e.tok_ok).status
        for _ in range(3)], [503, 503, 200], "--faults scenario at start")
    t = time.monotonic()
    eq(m.stop(), 0, "SIGTERM exit status")
    ok(time.monotonic() - t < 3, "quick shutdown")
    ok(not os.path.exists(m.port_file), "port file removed")
    m = Mock(e.work, e.cfg_path, "int")
    m.proc.send_signal(signal.SIGINT)
    eq(m.proc.wait(5), 0, "SIGINT exit status")
    out = subprocess.run([sys.executable, MOCK, "--print-manifest", "--config", e.cfg_path,
                          "--data-dir", os.path.join(e.work, "data")],
                         check=True, capture_output=True).stdout
    files = {(f["repo"], f["path"]): f for f in json.loads(out)["files"]}
    eq(files[(REPO, "model.pth")]["sha256"], sha256(e.model_body))
    bad = os.path.join(e.work, "bad.json")
    with open(bad, "w") as f:
        json.dump({"repos": [{"id": "x/y", "gated": "sometimes", "files": []}]}, f)
    p = subprocess.run([sys.executable, MOCK, "--config", bad, "--port-file",
                        os.path.join(e.work, "bad.port")], capture_output=True, text=True)
    eq(p.returncode, 2, "bad config exit status")
    ok("gated" in p.stderr, f"bad config message: {p.stderr}")


@test
def make_config(e):
    cfg = e.cfg
    t = cfg["test_tokens"]
    for k in ("ok", "denied", "fine_grained"):
        ok(re.fullmatch(r"hf_[A-Za-z]{34}", t[k]), f"token {k} format")
        ok(t[k] in cfg["tokens"], f"token {k} known")
    eq(cfg["tokens"][t["ok"]]["granted"], [REPO])
    eq(cfg["tokens"][t["denied"]]["granted"], [])
    eq(cfg["renames"], {"fishaudio/s1-mini": REPO})
    repo = cfg["repos"][0]
    eq((repo["id"], repo["gated"]), (REPO, "manual"))
    paths = [f["path"] for f in repo["commits"][e.c1]["files"]]
    eq(sorted(paths), sorted([".gitattributes", "README.md", "config.json",
                              "special_tokens.json", "tokenizer.tiktoken", "model.pth",
                              "codec.pth"]))
    out = subprocess.run([sys.executable, MOCK, "--make-config", "fake-model",
                          os.path.join(e.work, "default.json")],
                         check=True, capture_output=True, text=True).stdout
    ok(re.search(r"^TOKEN_OK=hf_[A-Za-z]{34}$", out, re.M), "prints TOKEN_OK")
    with open(os.path.join(e.work, "default.json")) as f:
        d = json.load(f)
    sizes = {x["path"]: x.get("size") for x in next(iter(d["repos"][0]["commits"].values()))["files"]}
    eq((sizes["model.pth"], sizes["codec.pth"]), (24 << 20, 26 << 20), "default sizes")
    ok(d["test_tokens"]["ok"] != t["ok"], "fresh random tokens each time")


@test
def emulated_python_client(e):
    """The request sequence of huggingface_hub's snapshot_download as hub-protocol.md
    describes it (sections 2.4, 3.3, 3.4, 7.1), through a renamed id, with small-file
    307s and 3-entry tree pages: revision call, paginated tree, HEAD loop that follows
    only host-less Locations (path replaced, query dropped), GET of the Location without
    the token when the host differs, size and hash checks."""
    m = e.m
    m.ctl("set", {"tree_page_size": 3, "small_file_redirect": True})
    m.ctl("reset-log")
    hdr = {"Authorization": f"Bearer {e.tok_ok}",
           "User-Agent": "unknown/None; hf_hub/1.29.0.dev0; python/3.11.7"}
    repo = "fishaudio/s1-mini"          # the old name: every first hop is a 307

    def follow(method, url, headers):   # httpx follow_redirects=True, auth stripped cross-origin
        for _ in range(10):
            r = m.req(method, url, headers)
            if r.status not in (301, 302, 303, 307, 308):
                return r
            nxt = urllib.parse.urljoin(url, r.h("Location"))
            if urllib.parse.urlsplit(nxt).netloc != urllib.parse.urlsplit(url).netloc:
                headers = {k: v for k, v in headers.items() if k != "Authorization"}
            url = nxt
        raise AssertionError("too many redirects")
    try:
        sha = follow("GET", f"{m.hub}/api/models/{repo}/revision/main", hdr).json()["sha"]
        eq(sha, e.c1)
        url = f"{m.hub}/api/models/{repo}/tree/{sha}?recursive=true&expand=false"
        files = []
        while url:
            r = follow("GET", url, hdr)
            files += [x for x in r.json() if x["type"] == "file"]
            mm = re.search(r'<([^>]+)>;\s*rel="next"', r.h("Link") or "")
            url = mm.group(1) if mm else None
        eq(len(files), 7, "files listed")
        for f in files:
            url = f"{m.hub}/{repo}/resolve/{sha}/{urllib.parse.quote(f['path'])}"
            hops = 0
            while True:
                r = m.req("HEAD", url, dict(hdr, **{"Accept-Encoding": "identity"}))
                loc = r.h("Location")
                if 300 <= r.status < 400 and loc and not urllib.parse.urlsplit(loc).netloc:
                    u = urllib.parse.urlsplit(url)
                    url = urllib.parse.urlunsplit((u.scheme, u.netloc,
                                                   urllib.parse.urlsplit(loc).path, u.query, ""))
                    hops += 1
                    continue
                break
            ok(hops >= 1, "the rename 307 was followed")
            eq(r.h("X-Repo-Commit"), sha, f["path"])
            etag = re.sub(r"^[W/]*", "", r.h("X-Linked-Etag") or r.h("ETag") or "").strip('"')
            redirect = 300 <= r.status < 400
            size = int(r.h("X-Linked-Size") or (None if redirect else r.h("Content-Length")))
            eq(size, f["size"], f["path"])
            target = loc if redirect else url
            get_hdr = dict(hdr)
            if urllib.parse.urlsplit(target).netloc != urllib.parse.urlsplit(url).netloc:
                get_hdr.pop("Authorization")
            body = follow("GET", target, get_hdr).body
            eq(len(body), size, f"{f['path']}: byte count")
            got = sha256(body) if len(etag) == 64 else git_sha1(body)
            eq(got, etag, f"{f['path']}: content matches the etag")
            if "lfs" in f:
                eq(f["lfs"]["oid"], etag, "tree lfs.oid == etag")
            else:
                eq(f["oid"], etag, "tree oid == etag")
        log = m.log()
        ok(not [x for x in log if x["origin"] == "cdn" and x["auth"]], "no token on the CDN")
        ok(all(x["accept_encoding"] == "identity" for x in log if x["method"] == "HEAD"),
           "HEAD used identity")
        eq(len([x for x in log if x["origin"] == "cdn"]), 2, "model.pth and codec.pth from the CDN")
    finally:
        m.ctl("set", {"tree_page_size": 1000, "small_file_redirect": False})


@test
def huggingface_hub_client(e):
    probe = subprocess.run([sys.executable, "-c", "import huggingface_hub"], capture_output=True)
    if probe.returncode != 0:
        return "skip: huggingface_hub is not installed"
    m = e.m
    home = tempfile.mkdtemp(dir=e.work)
    env = dict(os.environ, HF_ENDPOINT=m.hub, HF_HOME=home, HF_TOKEN=e.tok_ok,
               HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_TELEMETRY="1")
    code = ("import json,sys,hashlib,os\n"
            "from huggingface_hub import snapshot_download\n"
            f"p = snapshot_download({REPO!r}, local_dir=sys.argv[1])\n"
            "print(json.dumps({f: hashlib.sha256(open(os.path.join(p, f),'rb').read()).hexdigest()"
            " for f in ['model.pth','codec.pth','config.json']}))\n")
    out = subprocess.run([sys.executable, "-c", code, os.path.join(home, "dl")], env=env,
                         capture_output=True, text=True, timeout=120)
    eq(out.returncode, 0, f"snapshot_download: {out.stderr[-2000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    man = m.files(repo=REPO)
    for f, h in got.items():
        eq(h, man[f]["sha256"], f)
    log = m.log()
    ok(all("authorization" not in x for x in log if x["origin"] == "cdn"),
       "huggingface_hub sent no token to the CDN")


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description="self-test of the mock Hub")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-k", help="run only tests whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args()
    if shutil.which("openssl") is None:
        print("openssl not found: the TLS checks need it", file=sys.stderr)
    e = Env()
    e.work = tempfile.mkdtemp(prefix="mock-hub-selftest-")
    notes = []
    e.note = notes.append
    passed = failed = 0
    t0 = time.monotonic()
    try:
        e.cfg_path, e.cfg = build_config(e.work)
        t = e.cfg["test_tokens"]
        e.tok_ok, e.tok_denied, e.tok_fg = t["ok"], t["denied"], t["fine_grained"]
        commits = list(e.cfg["repos"][0]["commits"])
        e.c1, e.c2 = commits[0], commits[1]
        e.m = Mock(e.work, e.cfg_path, "plain")
        e.model_body = None
        for fn in TESTS:
            if args.k and args.k not in fn.__name__:
                continue
            if e.model_body is None and fn.__name__ not in ("port_file_and_headers",):
                h = e.m.req("HEAD", f"/{REPO}/resolve/main/model.pth", token=e.tok_ok)
                e.model_body = e.m.req("GET", h.h("Location")).body
            t1 = time.monotonic()
            try:
                res = fn(e)
                tag = "skip" if isinstance(res, str) and res.startswith("skip") else "ok"
                print(f"{tag:4} {fn.__name__} ({time.monotonic() - t1:.2f}s)"
                      + (f" - {res}" if tag == "skip" else ""))
                passed += tag == "ok"
            except Exception as ex:      # noqa: BLE001 - every failure is reported
                failed += 1
                print(f"FAIL {fn.__name__}: {type(ex).__name__}: {ex}")
                if args.verbose:
                    traceback.print_exc()
        rc = e.m.stop()
        if rc != 0:
            failed += 1
            print(f"FAIL plain mock exit status {rc}")
        for n in notes:
            print(f"note: {n}")
        print(f"total time {time.monotonic() - t0:.1f}s")
    except Exception as ex:              # noqa: BLE001
        failed += 1
        print(f"FAIL setup: {type(ex).__name__}: {ex}")
        traceback.print_exc()
    finally:
        m = getattr(e, "m", None)
        if m is not None and m.proc.poll() is None:
            m.proc.kill()
        if failed and os.path.isdir(e.work):
            for name in sorted(os.listdir(e.work)):
                if name.endswith(".stderr") and os.path.getsize(os.path.join(e.work, name)):
                    with open(os.path.join(e.work, name)) as f:
                        print(f"--- {name}\n{f.read()[-3000:]}")
        if args.keep:
            print(f"kept {e.work}")
        else:
            shutil.rmtree(e.work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
