"""A real `kdedge search` on digits under two budgets; writes the Pareto tables, plots and timings.

    .venv/bin/python benchmarks/search_digits.py --trials 40 --out benchmarks/results/search

Budget A: batch-1 p50 <= 1.5 x onnxruntime's runtime floor (an Identity graph), measured first on this machine.
Budget B: ONNX file <= 32 KB.
Both searches use one teacher (trained here, seed 0) and go through the `kdedge` command line as a user types it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KDEDGE = [sys.executable, "-m", "kdedge.cli"]


def kdedge(*args, check=True) -> subprocess.CompletedProcess:
    env = {**os.environ, "KDEDGE_QUIET": "1"}
    return subprocess.run([*KDEDGE, *map(str, args)], check=check, capture_output=True, text=True, env=env)


def runtime_floor_us() -> float:
    from kdedge.data import load_dataset
    from kdedge.measure import floor_model
    from kdedge.measure.latency import measure_latency

    x, _ = load_dataset("digits").split("test")
    return measure_latency(floor_model(x.ndim - 1), x[:256], threads=1)["p50_us"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/search"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="kdedge-search-"))  # trial runs are big; only tables and plots are kept
    kdedge("teacher", "train", "--data", "digits", "--out", work / "teacher", "--overwrite")
    kdedge("export", work / "teacher")
    floor = runtime_floor_us()
    budgets = {
        "latency": ["--max-latency-us", f"{1.5 * floor:.2f}"],
        "size": ["--max-size-kb", "32"],
    }
    report = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        f"Runtime floor (Identity graph, batch 1, 1 thread): p50 {floor:.2f} µs.",
        f"Command: `.venv/bin/python benchmarks/search_digits.py --trials {args.trials}`",
        "",
    ]
    for name, budget in budgets.items():
        out = work / f"search-{name}"
        start = time.perf_counter()
        result = kdedge(
            "search",
            "--teacher",
            work / "teacher",
            *budget,
            "--trials",
            args.trials,
            "--out",
            out,
            "--overwrite",
            "--json",
            check=False,
        )
        took = time.perf_counter() - start
        report.append(f"## Budget {name}: {' '.join(budget)} — {args.trials} trials in {took / 60:.1f} min")
        report.append("")
        if result.returncode == 0:
            summary = json.loads(result.stdout)
            best = summary["best"]
            test = {r["name"]: r for r in summary["test"]["rows"]}
            report.append(
                f"Best inside the budget: trial {best['trial']} — {best['settings']}; test accuracy "
                f"{100 * test['best']['accuracy']:.2f} % (teacher {100 * test['teacher']['accuracy']:.2f} %), "
                f"p50 {test['best']['latency']['p50_us']:.1f} µs (teacher "
                f"{test['teacher']['latency']['p50_us']:.1f} µs), {test['best']['size_kb']:.1f} KB."
            )
        else:
            report.append(f"No trial fits: `{result.stderr.strip()}`")
        report.append("")
        report.append((out / "pareto.md").read_text())
        shutil.copy(out / "pareto.png", args.out / f"pareto-{name}.png")
        report.append(f"![accuracy vs latency, budget {name}](pareto-{name}.png)")
        report.append("")
    text = "\n".join(report)
    (args.out / "search_digits.md").write_text(text)
    print(text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
