#!/usr/bin/env python3
"""bench/report.py - turn the measurements of bench/run.sh into bench/RESULTS.md.

    report.py META.env RESULTS.tsv KILL.env OUT.md

Prints the tables and the targets on stdout as well. Exit status 0 when every target that
could be measured passes, 1 when one fails (bench/run.sh decides what to do with it)."""

import statistics
import sys

MiB = 1024 * 1024

TOOL_LABEL = {
    "curl": "`curl -o` (one file after the other)",
    "curl-sync": "`curl -o`, then `sync -d` of the files",
    "curl-parallel": "`curl --parallel`",
    "wget": "`wget` (one file after the other)",
    "aria2c": "`aria2c -x16 -s16 -k1M`",
    "bootstrap": "`bootstrap download` (verifies sha256)",
    "bootstrap-static": "`bootstrap download`, static build (verifies sha256)",
    "bootstrap-resume": "`bootstrap download` (resume)",
}
TOOL_ORDER = ["curl", "curl-sync", "curl-parallel", "wget", "aria2c", "bootstrap", "bootstrap-static"]


def read_env(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, sep, v = line.rstrip("\n").partition("=")
                if sep:
                    out[k] = v
    except OSError:
        pass
    return out


def read_tsv(path):
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        return [dict(zip(head, line.rstrip("\n").split("\t"))) for line in f if line.strip()]


def mib(n):
    return n / MiB


DEFAULT_CONNS = ""


class Row:
    """The runs of one tool (and connection count) in one scenario."""

    def __init__(self, runs):
        self.runs = runs
        r0 = runs[0]
        self.tool, self.conns = r0["tool"], r0["conns"]
        self.bytes = int(r0["bytes"])
        self.ok = [r for r in runs if r["rc"] == "0" and r["sha_ok"] == r["sha_total"]]
        self.failed = len(runs) - len(self.ok)
        walls = [int(r["wall_ns"]) / 1e9 for r in self.ok]
        self.wall = statistics.median(walls) if walls else None
        self.wall_min = min(walls) if walls else None
        self.wall_max = max(walls) if walls else None
        self.mibs = mib(self.bytes) / self.wall if self.wall else None
        self.best = mib(self.bytes) / self.wall_min if self.wall_min else None
        self.rss = max(int(r["rss_kib"] or 0) for r in runs) / 1024
        self.cdn = statistics.median(int(r["cdn_bytes"]) for r in runs) / MiB
        self.reqs = statistics.median(int(r["cdn_reqs"]) for r in runs)
        cpus = [float(r["cpu_s"]) for r in self.ok if r.get("cpu_s")]
        self.cpu = statistics.median(cpus) if cpus else None
        loads = [float(r["load"]) for r in runs if r.get("load")]
        self.load = statistics.median(loads) if loads else None
        # sha256 of the runs that said they succeeded (a failed run leaves nothing to check)
        claimed = [r for r in runs if r["rc"] == "0"]
        self.sha = "%d/%d" % (min(int(r["sha_ok"]) for r in claimed), int(r0["sha_total"])) if claimed else "—"
        self.bad = sorted({r["bad"] for r in claimed if r["bad"] not in ("", "-")})
        self.rcs = sorted({r["rc"] for r in runs if r["rc"] != "0"})

    def label(self):
        name = TOOL_LABEL.get(self.tool, self.tool)
        if self.tool.startswith("bootstrap"):
            if self.conns:
                name += ", `--connections %s`" % self.conns
            else:
                name += ", default connections%s" % (" (%s)" % DEFAULT_CONNS if DEFAULT_CONNS else "")
        return name


def group(results, scen):
    rows = {}
    for r in results:
        if r["scenario"] == scen:
            rows.setdefault((r["tool"], r["conns"]), []).append(r)

    def key(k):
        tool, conns = k
        return (TOOL_ORDER.index(tool) if tool in TOOL_ORDER else 99, conns != "",
                int(conns) if conns.isdigit() else 0)
    return [Row(rows[k]) for k in sorted(rows, key=key)]


def table(rows):
    out = ["| tool | wall s (median; min–max) | MiB/s (median) | MiB/s (best) | CPU s (user+sys) | peak RSS MiB "
           "| sha256 ok | MiB from CDN | requests | load avg | failed runs |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r.wall is None:
            wall = "—"
            speed = best = "—"
        else:
            wall = "%.2f (%.2f–%.2f)" % (r.wall, r.wall_min, r.wall_max) if len(r.ok) > 1 else "%.2f" % r.wall
            speed = "%.1f" % r.mibs
            best = "%.1f" % r.best
        fail = str(r.failed)
        if r.failed:
            fail += " (rc %s%s)" % (",".join(r.rcs) or "0", "; bad sha256: " + ", ".join(r.bad) if r.bad else "")
        out.append("| %s | %s | %s | %s | %s | %.1f | %s | %.0f | %d | %s | %s |" % (
            r.label(), wall, speed, best, "—" if r.cpu is None else "%.2f" % r.cpu, r.rss, r.sha, r.cdn, r.reqs,
            "—" if r.load is None else "%.1f" % r.load, fail))
    return out


def main(argv):
    meta_path, tsv_path, kill_path, out_path = argv[1:5]
    meta = read_env(meta_path)
    results = read_tsv(tsv_path)
    kill = read_env(kill_path)
    conns = meta.get("conns", "")
    global DEFAULT_CONNS
    DEFAULT_CONNS = meta.get("bs_default_conns", "")
    quick = meta.get("quick", "0") not in ("0", "")
    rate = meta.get("rate", "50m")
    lfs = int(meta.get("lfs_bytes", "0"))

    md = []
    md.append("# Download benchmark")
    md.append("")
    md.append("Written by `bench/run.sh` (`make bench`) on %s. Do not edit by hand: run the bench again."
              % meta.get("date", "?"))
    if quick:
        md.append("")
        md.append("**Quick mode** (`BENCH_QUICK=1`): small files, one repetition. The targets are "
                  "meant for the full run.")
    md.append("")
    md.append("## Machine")
    md.append("")
    md.append("| | |")
    md.append("|---|---|")
    for k, label in (("cpu", "CPU"), ("nproc", "cores (nproc)"), ("cpu_flags", "CPU flags of note"),
                     ("mem", "memory"), ("kernel", "kernel"), ("os", "OS"), ("fs", "file system of the downloads"),
                     ("v_bootstrap", "bootstrap"), ("v_bootstrap_static", "bootstrap, static build"), ("v_nginx", "nginx (the CDN)"), ("v_curl", "curl"),
                     ("v_wget", "wget"), ("v_aria2c", "aria2c"), ("v_python", "mock Hub")):
        if k == "v_bootstrap_static" and k not in meta:
            continue
        md.append("| %s | %s |" % (label, meta.get(k, "?").strip() or "?"))
    md.append("")
    md.append("## Setup")
    md.append("")
    md.append("* Model: `model.pth` %s + `codec.pth` %s (%.0f MiB of LFS files) plus %s small files, "
              "seeded random content made by the mock Hub's generator."
              % (meta.get("model_size"), meta.get("codec_size"), mib(lfs),
                 int(meta.get("all_files", "2")) - 2))
    md.append("* Hub API: the mock Hub (`tests/mock_hub/mock_hub.py`) on 127.0.0.1: revision, tree, "
              "`HEAD /resolve/` with `X-Linked-Etag`/`X-Linked-Size` and a 302 to the CDN.")
    md.append("* CDN: nginx on 127.0.0.2 (`bench/nginx.conf.in`: `sendfile on`, keep-alive, "
              "`limit_rate` per connection), serving the same bytes from the page cache.")
    md.append("* Peers fetch the two LFS files from the URLs the Hub redirects to; "
              "`bootstrap download` fetches the whole repository through the Hub (fresh `HF_HOME` per run) "
              "and verifies every file while it arrives. Afterwards the sha256 of every file every tool "
              "wrote is checked against the mock's manifest (not part of the time).")
    md.append("* Throughput = LFS bytes / wall time, median of %s run(s), contenders in round robin. "
              "Peak RSS = `/usr/bin/time -f %%M`, the largest over the runs. "
              "\"MiB from CDN\" = body bytes in nginx's access log. CPU s = user + system time of the tool "
              "(median); load avg = the 1-minute load average after the run (other work on the machine)."
              % meta.get("repeat"))
    md.append("")

    def find(rows, tool, c=None):
        for r in rows:
            if r.tool == tool and (c is None or r.conns == c):
                return r
        return None

    scen_rows = {}
    for scen, title in (("capped", "Capped CDN: `limit_rate %s` per connection" % rate),
                        ("uncapped", "Uncapped CDN (loopback)"),
                        ("tmpfs", "Uncapped CDN, every tool writes to tmpfs (`/dev/shm`): no disk")):
        rows = group(results, scen)
        scen_rows[scen] = rows
        if not rows:
            continue
        md.append("## " + title)
        md.append("")
        md.extend(table(rows))
        md.append("")

    # --- targets
    verdicts = []

    def target(name, measured, need, ok):
        verdicts.append(ok)
        return "| %s | %s | %s | %s |" % (name, measured, need,
                                         "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**"))

    tg = ["| target | measured | needed | result |", "|---|---|---|---|"]
    cap = scen_rows.get("capped", [])
    unc = scen_rows.get("uncapped", [])
    b, a = find(cap, "bootstrap", conns), find(cap, "aria2c")
    if b and a and b.mibs and a.mibs:
        tg.append(target("capped: throughput vs aria2c", "%.2f× (%.1f vs %.1f MiB/s)" % (b.mibs / a.mibs, b.mibs, a.mibs),
                         "≥ 1.3×", b.mibs / a.mibs >= 1.3))
    else:
        tg.append(target("capped: throughput vs aria2c", "not measured" if not b else "a run failed", "≥ 1.3×",
                         None if not b else False))
    b, c = find(unc, "bootstrap", conns), find(unc, "curl")
    if b and c and b.mibs and c.mibs:
        tg.append(target("uncapped: throughput vs `curl -o`", "%.2f× (%.1f vs %.1f MiB/s)" % (b.mibs / c.mibs, b.mibs, c.mibs),
                         "≥ 0.8×", b.mibs / c.mibs >= 0.8))
    else:
        tg.append(target("uncapped: throughput vs `curl -o`", "not measured" if not b else "a run failed", "≥ 0.8×",
                         None if not b else False))
    all_rows = [r for rows in scen_rows.values() for r in rows]
    for tool, what in (("bootstrap", "peak RSS of `bootstrap download`"),
                       ("bootstrap-static", "peak RSS of `bootstrap download`, static build")):
        bs_rows = [r for r in all_rows if r.tool == tool and r.conns == conns]
        if bs_rows:
            rss = max(r.rss for r in bs_rows)
            tg.append(target(what, "%.2f MiB (%d KiB)" % (rss, round(rss * 1024)), "≤ 16 MiB", rss <= 16))
        elif tool == "bootstrap":
            tg.append(target(what, "not measured", "≤ 16 MiB", None))
    if kill.get("twice"):
        twice = int(kill["twice"])
        ok = kill.get("resume_rc") == "0" and kill.get("resume_sha_ok", "").split("/")[0] == \
            kill.get("resume_sha_ok", "/").split("/")[1]
        tg.append(target("SIGKILL at %s %%, resume: bytes fetched twice" % kill.get("kill_pct"),
                         "%.1f MiB%s" % (twice / MiB, "" if ok else " (resume failed)"), "≤ 64 MiB",
                         ok and twice <= 64 * MiB))
    else:
        tg.append(target("SIGKILL at 50 %, resume: bytes fetched twice", "not measured", "≤ 64 MiB", None))
    md.append("## Targets")
    md.append("")
    md.append("Ratios of medians measured in this run; the `bootstrap` rows are those with %s."
              % ("`--connections %s`" % conns if conns else
                 "the default connection count" + (" (%s)" % DEFAULT_CONNS if DEFAULT_CONNS else "")))
    md.append("")
    md.extend(tg)
    md.append("")
    if meta.get("bs_base_rss_kib"):
        line = ("Peak RSS of `bootstrap --version` alone (nothing downloaded): %.1f MiB"
                % (int(meta["bs_base_rss_kib"]) / 1024))
        if meta.get("bs_static_base_rss_kib"):
            line += "; static build: %.1f MiB" % (int(meta["bs_static_base_rss_kib"]) / 1024)
        md.append(line + ".")
        md.append("")

    # the same ratios from other angles: best runs, durable peers, no disk
    ctx = []

    def ratio(name, rows, tool_b, tool_p, need):
        b, p = find(rows, "bootstrap", conns), find(rows, tool_p)
        if not (b and p and b.mibs and p.mibs):
            return
        ctx.append("| %s | %.2f× (%.1f vs %.1f MiB/s) | %.2f× (%.1f vs %.1f MiB/s) | %s |" % (
            name, b.mibs / p.mibs, b.mibs, p.mibs, b.best / p.best, b.best, p.best, need))
    tmp = scen_rows.get("tmpfs", [])
    ratio("capped: bootstrap / aria2c", cap, "bootstrap", "aria2c", "≥ 1.3×")
    ratio("uncapped: bootstrap / `curl -o`", unc, "bootstrap", "curl", "≥ 0.8×")
    ratio("uncapped: bootstrap / `curl -o` + `sync -d`", unc, "bootstrap", "curl-sync", "(as durable)")
    ratio("tmpfs: bootstrap / `curl -o`", tmp, "bootstrap", "curl", "(no disk)")
    ratio("tmpfs: bootstrap / aria2c", tmp, "bootstrap", "aria2c", "")
    ratio("uncapped: bootstrap / aria2c", unc, "bootstrap", "aria2c", "")
    for scen_name, rows in (("capped", cap), ("uncapped", unc)):
        b, st = find(rows, "bootstrap", conns), find(rows, "bootstrap-static", conns)
        if b and st and b.mibs and st.mibs:
            ctx.append("| %s: static build / `build/bootstrap` | %.2f× (%.1f vs %.1f MiB/s) | %.2f× | |" % (
                scen_name, st.mibs / b.mibs, st.mibs, b.mibs, st.best / b.best))
    if ctx:
        md.append("Other angles on the same runs (medians, and best run against best run):")
        md.append("")
        md.append("| ratio | medians | best runs | target |")
        md.append("|---|---|---|---|")
        md.extend(ctx)
        md.append("")

    if kill.get("twice"):
        md.append("## Kill and resume")
        md.append("")
        md.append("Capped CDN (`limit_rate %s`). `bootstrap download` was SIGKILLed once %s %% of the LFS bytes "
                  "had been written (`wchar` of `/proc/PID/io`), then run again with the same `HF_HOME`." %
                  (rate, kill.get("kill_pct")))
        md.append("")
        md.append("| | |")
        md.append("|---|---|")
        rows = [
            ("killed after", "%.1f s (exit status %s)" % (int(kill["kill_after_ns"]) / 1e9, kill.get("kill_rc"))),
            ("written by then", "%.1f MiB" % mib(int(kill["kill_written"]))),
            ("partial files on disk (apparent size)", "%.1f MiB" % mib(int(kill["kill_partial_files"]))),
            ("resume records at the kill: written / durable", "%.1f / %.1f MiB" % (
                mib(int(kill.get("rec_written") or 0)), mib(int(kill.get("rec_durable") or 0)))),
            ("nginx sent, first run", "%.1f MiB in %s requests" % (mib(int(kill["sent1"])), kill["reqs1"])),
            ("nginx sent, resumed run", "%.1f MiB in %s requests" % (mib(int(kill["sent2"])), kill["reqs2"])),
            ("LFS total", "%.1f MiB" % mib(int(kill["total"]))),
            ("**fetched twice** (sent in both runs − total)", "**%.1f MiB**" % mib(int(kill["twice"]))),
            ("resumed run", "exit %s, %.2f s, peak RSS %.1f MiB, sha256 %s" % (
                kill.get("resume_rc"), int(kill["resume_wall_ns"]) / 1e9, int(kill["resume_rss_kib"] or 0) / 1024,
                kill.get("resume_sha_ok"))),
            ("`bytes_reused` reported by the resumed run", "%.1f MiB" % mib(int(kill["resume_bytes_reused"]))
             if int(kill["resume_bytes_reused"]) >= 0 else "?"),
        ]
        for k, v in rows:
            md.append("| %s | %s |" % (k, v))
        md.append("")

    md.append("## Notes")
    md.append("")
    md.append("* %s shared core(s): nginx, the mock Hub, the tool under test and the page cache all compete "
              "for the same CPUs, and nothing is pinned. Other work on the machine shows in the load average "
              "column. The uncapped numbers measure loopback, memory copies and the disk more than a network, "
              "and vary a lot from run to run; compare medians and best runs, not single runs."
              % meta.get("nproc", "?"))
    md.append("* `bootstrap download` does more than the peers in the same time: it hashes every byte "
              "(sha256, %s), asks the Hub for the revision and the tree, resolves each file, fetches the "
              "small files too, and keeps resume records (a durable one synced about once a second per "
              "file). Like the peers it places finished files without waiting for their writeback (a "
              "marker naming the boot makes the next run re-hash them after a reboot; `--sync` waits "
              "instead). The peers verify nothing; `curl -o` + `sync -d` is the peer made durable, and the "
              "tmpfs scenario takes the disk out."
              % ("SHA-NI available" if "sha_ni" in meta.get("cpu_flags", "") else "no SHA-NI"))
    # What the uncapped target asks of this machine, from this run's own numbers.
    b, c = find(unc, "bootstrap", conns), find(unc, "curl")
    if b and c and b.wall and c.wall and b.cpu and c.cpu:
        import hashlib
        import time as _time
        blob = b"\0" * (64 << 20)
        t0 = _time.perf_counter()
        hashlib.sha256(blob).hexdigest()
        sha_mibs = 64 / (_time.perf_counter() - t0)
        allowed = c.wall / 0.8
        md.append("* What the uncapped target asks here: at most %.2f s of wall time (`curl -o` took %.2f s "
                  "and %.2f CPU s). SHA-256 runs at %.0f MiB/s on one core of this machine (measured by "
                  "this report with Python's hashlib, which is OpenSSL), so hashing the %.0f MiB alone costs "
                  "%.2f CPU s; `bootstrap download` used %.2f CPU s in all, which over %.2f s is %.2f of "
                  "the %s core(s), before nginx, the mock Hub and the kernel's writeback get any. With spare "
                  "cores the digest threads run beside the transfer and the transfer loop is the limit."
                  % (allowed, c.wall, c.cpu, sha_mibs, mib(b.bytes), mib(b.bytes) / sha_mibs, b.cpu,
                     allowed, b.cpu / allowed, meta.get("nproc", "?")))
    md.append("* The source files sit in the page cache (read once before the runs); the outputs go to "
              "the %s file system and are deleted (then `sync`) after every run." % meta.get("fs", "?"))
    md.append("* `curl -o` and `wget` use one connection per file, one file after the other; "
              "`curl --parallel` one connection per file, both at once; aria2c up to 16 per file.")
    md.append("")
    md += MORE_BENCHES

    text = "\n".join(md)
    with open(out_path + ".tmp", "w") as f:
        f.write(text)
    import os
    os.replace(out_path + ".tmp", out_path)
    sys.stdout.write(text)
    return 1 if any(v is False for v in verdicts) else 0


# The other benchmarks (issue 16), each with its own report beside this one.
MORE_BENCHES = [
    "## More benchmarks",
    "",
    "* [RESULTS-wan.md](RESULTS-wan.md) (`bench/wan.sh`): a shaped link with latency, loss and a "
    "per-connection cap; bootstrap against aria2c, hf_transfer and snapshot_download. Chart:",
    "",
    "  ![throughput by tool and WAN condition](wan.png)",
    "",
    "* [RESULTS-many.md](RESULTS-many.md) (`bench/many.sh`): 10,000 files of 100 KiB and 100,000 "
    "tiny files, per-file cost and system calls.",
    "* [RESULTS-firstboot.md](RESULTS-firstboot.md) (`bench/firstboot.sh`): `bootstrap run` from "
    "nothing to the hand-off, phase by phase, and the re-hash after a reboot.",
    "",
]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
