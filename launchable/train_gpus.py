#!/usr/bin/env python3
"""Which GPUs the fine-tune may use, read from bootstrap's hardware report.

    train_gpus.py REPORT.json

prints shell assignments for train_finnish.sh (values shell-quoted):

    GPU_UUIDS=GPU-aaa,GPU-bbb      the usable GPUs (MIG: the largest instance of each), for
                                   CUDA_VISIBLE_DEVICES; UUIDs, because CUDA numbers devices
                                   fastest-first while nvidia-smi numbers them by bus
    GPU_USABLE=2                   how many
    GPU_SKIPPED='1 (Tesla T4)'     the GPUs detect judged unusable ('bootstrap detect' says why)
    GPU_MIN_VRAM_GIB=79            the smallest usable GPU's memory (DDP runs at its pace)
    GPU_ALL_BF16=1                 1 when every usable GPU has bf16, 0 when one has not,
                                   '' when unknown
    GPU_CUDA=12.8                  the newest CUDA the driver supports ('' when unknown)

Exit status: 0 printed; 2 the report is missing or unreadable (the message says why).
Python standard library only (it runs before the training environment exists).
"""

import json
import shlex
import sys


def usable_gpus(report):
    """[(uuid, memory MiB, bf16, name)] for the GPUs detect counted as usable."""
    out = []
    for g in report.get("gpus") or []:
        if not isinstance(g, dict) or g.get("usable") is not True:
            continue
        uuid = g.get("uuid")
        mem = g.get("usable_memory_mib") or g.get("memory_total_mib")
        if g.get("mig_enabled") and g.get("mig_instances"):
            best = max(g["mig_instances"], key=lambda m: m.get("memory_mib") or 0)
            uuid, mem = best.get("uuid"), best.get("memory_mib") or mem
        if not isinstance(uuid, str) or not uuid.replace("-", "").isalnum():
            continue  # no UUID: cannot be named safely in CUDA_VISIBLE_DEVICES
        out.append((uuid, mem if isinstance(mem, int) else None, g.get("bf16"), g.get("name")))
    return out


def skipped_gpus(report):
    out = []
    for g in report.get("gpus") or []:
        if isinstance(g, dict) and g.get("usable") is False:
            out.append("%s (%s)" % (g.get("index"), g.get("name") or "unknown GPU"))
    return out


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) == 2 else 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            report = json.load(f)
        if not isinstance(report, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        print("train_gpus: cannot read the hardware report %s: %s" % (argv[1], e), file=sys.stderr)
        return 2
    gpus = usable_gpus(report)
    mems = [m for _, m, _, _ in gpus if m]
    bf16 = [b for _, _, b, _ in gpus]
    cuda = ((report.get("driver") or {}).get("cuda_version")) or ""
    values = {
        "GPU_UUIDS": ",".join(u for u, _, _, _ in gpus),
        "GPU_USABLE": str(len(gpus)),
        "GPU_SKIPPED": "; ".join(skipped_gpus(report)),
        "GPU_MIN_VRAM_GIB": str(min(mems) // 1024) if mems else "0",
        "GPU_ALL_BF16": "" if not bf16 or None in bf16 else ("1" if all(bf16) else "0"),
        "GPU_CUDA": cuda if isinstance(cuda, str) else "",
    }
    for k, v in values.items():
        print("%s=%s" % (k, shlex.quote(v)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
