#!/usr/bin/env python3
"""bench/pyclients.py - the Python peers of bench/wan.sh and bench/many.sh, run inside the bench
venv (bench/setup-tools.sh: pinned huggingface_hub and hf_transfer from PyPI).

  pyclients.py hf_transfer INPUT     INPUT: lines "URL<TAB>OUTPUT"; every file with
                                     hf_transfer.download() (its Rust engine), the files in
                                     parallel threads as huggingface_hub 0.x's snapshot_download
                                     did with HF_HUB_ENABLE_HF_TRANSFER=1: max_files=100,
                                     chunk_size=10 MiB, parallel_failures=3, max_retries=5
  pyclients.py snapshot REPO [--repo-type T] [--workers N]
                                     huggingface_hub.snapshot_download(REPO) into HF_HOME
                                     (HF_ENDPOINT, HF_TOKEN, HF_HUB_DISABLE_XET=1 from the caller);
                                     default max_workers (8) unless --workers

Prints one JSON line ({"files": N, "path": ...}) and exits 0 on success.
"""
import argparse
import concurrent.futures
import json
import os
import sys


def run_hf_transfer(input_path):
    import hf_transfer  # noqa: PLC0415 (only in the venv)

    jobs = []
    with open(input_path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                url, out = line.split("\t", 1)
                jobs.append((url, out))

    def one(job):
        url, out = job
        os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
        # huggingface_hub 0.x: HF_TRANSFER_CONCURRENCY = 100, DOWNLOAD_CHUNK_SIZE = 10 MiB
        hf_transfer.download(url=url, filename=out, max_files=100, chunk_size=10 * 1024 * 1024,
                             parallel_failures=3, max_retries=5, headers=None)
        return out

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
        done = list(ex.map(one, jobs))
    print(json.dumps({"files": len(done)}))


def run_snapshot(repo, repo_type, workers):
    from huggingface_hub import snapshot_download  # noqa: PLC0415 (only in the venv)

    kw = {"repo_id": repo, "repo_type": repo_type}
    if workers:
        kw["max_workers"] = workers
    path = snapshot_download(**kw)
    n = sum(len(files) for _, _, files in os.walk(path))
    print(json.dumps({"files": n, "path": path}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("hf_transfer")
    a.add_argument("input")
    b = sub.add_parser("snapshot")
    b.add_argument("repo")
    b.add_argument("--repo-type", default="model")
    b.add_argument("--workers", type=int, default=0)
    args = ap.parse_args()
    if args.cmd == "hf_transfer":
        run_hf_transfer(args.input)
    else:
        run_snapshot(args.repo, args.repo_type, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
