"""What kdedge's own overheads cost, measured through the CLI as a user runs it (each figure side by side in one run).

1. Threads on a busy machine: `kdedge teacher train` (the demo's CNN on digits) while another process keeps one
   core busy — the default threads against `--threads 1`, and against the old default (the same threads with
   OpenMP's spinning wait, OMP_WAIT_POLICY=ACTIVE). Interleaved, --repeats times; ratios to the one-thread run of
   the same repeat, median (min–max).
2. The shared teacher-output cache: a distill (MUNGE 5x from the demo's CNN, a tree student) into one folder, then
   the same into another folder: the seconds the teacher's outputs took, and whether the run reused them.
3. Start-up: `kdedge distill --student tree --method hard` — seconds from process start to the start of the work
   (recorded in every run as compute.work_started_after_s), and the whole command.

    KDEDGE_QUIET=1 .venv/bin/python benchmarks/cost.py --out benchmarks/results/cost.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import emit

KDEDGE = [sys.executable, "-m", "kdedge.cli"]


def kdedge(*args, env: dict | None = None) -> float:
    """Run one command; its wall time in seconds."""
    start = time.perf_counter()
    done = subprocess.run(
        [*KDEDGE, *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "KDEDGE_QUIET": "1", **(env or {})},
    )
    if done.returncode != 0:
        raise SystemExit(f"kdedge {' '.join(map(str, args))} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def spread(values) -> str:
    v = np.asarray(values, float)
    return f"{np.median(v):.2f} ({v.min():.2f}–{v.max():.2f})"


def busy_core():
    """Another process keeping one core busy, as a second job on a workstation does."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def threads_part(root: Path, repeats: int, epochs: int) -> list[str]:
    variants = {
        "--threads 1": (["--threads", 1], {}),
        "default threads (passive wait)": ([], {}),
        "default threads, spinning wait (the old default)": ([], {"OMP_WAIT_POLICY": "ACTIVE"}),
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    hog = busy_core()
    try:
        for r in range(repeats):
            for name, (flags, env) in variants.items():
                out = root / f"teacher-{r}-{len(seconds[name])}-{abs(hash(name)) % 1000}"
                seconds[name].append(
                    kdedge(
                        "teacher",
                        "train",
                        "--data",
                        "digits",
                        "--epochs",
                        epochs,
                        "--patience",
                        epochs,
                        *flags,
                        "--out",
                        out,
                        env={"OMP_NUM_THREADS": "", **env},
                    )  # fmt: skip
                )
    finally:
        hog.kill()
    one = np.asarray(seconds["--threads 1"])
    lines = [
        "## Threads while another process keeps one core busy",
        "",
        f"`kdedge teacher train --data digits --epochs {epochs}` (the demo's CNN); {repeats} repeats, interleaved; "
        f"default threads here = {os.cpu_count()} (the CPUs this process may use).",
        "",
        "| threads | s (median, min–max) | × --threads 1, same repeat |",
        "| --- | --- | --- |",
    ]
    for name, values in seconds.items():
        lines.append(f"| {name} | {spread(values)} | {spread(np.asarray(values) / one)} |")
    return lines


def cache_part(root: Path) -> list[str]:
    cache = root / "cache"
    teacher = root / "teacher"
    kdedge("teacher", "train", "--data", "digits", "--out", teacher)
    common = ["distill", "--teacher", teacher, "--student", "tree", "--method", "logits", "--transfer", "munge",
              "--transfer-size", "5x", "--cache-dir", cache]  # fmt: skip
    rows = []
    for name in ("first", "second"):
        out = root / f"tree-{name}"
        wall = kdedge(*common, "--out", out)
        compute = json.loads((out / "kdedge.json").read_text())["compute"]
        used = ", ".join(
            f"{split}: {'reused' if u['reused'] else 'computed'}" for split, u in compute["teacher_outputs"].items()
        )
        rows.append(f"| {name} (into {out.name}/) | {wall:.1f} | {used} |")
    return [
        "## The shared teacher-output cache",
        "",
        "`kdedge distill --teacher T --student tree --method logits --transfer munge --transfer-size 5x` twice, into "
        "two folders, one cache.",
        "",
        "| distill | wall s | teacher outputs |",
        "| --- | --- | --- |",
        *rows,
    ]


def startup_part(root: Path, repeats: int) -> list[str]:
    started, walls = [], []
    for r in range(repeats):
        out = root / f"tree-hard-{r}"
        walls.append(kdedge("distill", "--student", "tree", "--method", "hard", "--data", "digits", "--out", out))
        started.append(json.loads((out / "kdedge.json").read_text())["compute"]["work_started_after_s"])
    return [
        "## Start-up",
        "",
        f"`kdedge distill --student tree --method hard --data digits`, {repeats} runs.",
        "",
        "| figure | s (median, min–max) |",
        "| --- | --- |",
        f"| process start → work starts (compute.work_started_after_s) | {spread(started)} |",
        f"| whole command | {spread(walls)} |",
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10, help="teacher epochs in the threads part")
    parser.add_argument("--only", choices=("threads", "cache", "startup"), nargs="+")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    parts = args.only or ("threads", "cache", "startup")
    load = os.getloadavg()
    lines = [
        "# kdedge's own costs",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; load average {load[0]:.1f} when the run started "
        "(other jobs ran alongside: read the ratios, measured side by side).",
        "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if "threads" in parts:
            lines += threads_part(root, args.repeats, args.epochs) + [""]
        if "cache" in parts:
            lines += cache_part(root) + [""]
        if "startup" in parts:
            lines += startup_part(root, args.repeats) + [""]
    lines.append(f"Run with `KDEDGE_QUIET=1 .venv/bin/python benchmarks/cost.py --repeats {args.repeats}`.")
    emit("\n".join(lines) + "\n", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
