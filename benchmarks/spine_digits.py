"""Rerun the demo (teacher -> KD MLP and hard MLP -> ONNX -> bench) with several seeds; print a Markdown table.

    .venv/bin/python benchmarks/spine_digits.py --seeds 0 1 2 --out benchmarks/results/spine_digits.md

Every step goes through the `kdedge` command line, exactly as a user types it.
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
MODELS = {"teacher": "CNN teacher", "mlp": "MLP 128, KD T=4 α=0.9", "mlp-hard": "MLP 128, hard labels"}


def kdedge(*args) -> str:
    env = {**os.environ, "KDEDGE_QUIET": "1"}
    return subprocess.run([*KDEDGE, *map(str, args)], check=True, capture_output=True, text=True, env=env).stdout


def one_seed(root: Path, seed: int) -> dict:
    runs = root / f"seed{seed}"
    kdedge("teacher", "train", "--data", "digits", "--seed", seed, "--out", runs / "teacher")
    kdedge(
        "distill",
        "--teacher",
        runs / "teacher",
        "--student",
        "mlp",
        "--method",
        "kd",
        "--temperature",
        4,
        "--alpha",
        0.9,
        "--seed",
        seed,
        "--out",
        runs / "mlp",
    )
    kdedge(
        "distill",
        "--teacher",
        runs / "teacher",
        "--student",
        "mlp",
        "--method",
        "hard",
        "--seed",
        seed,
        "--out",
        runs / "mlp-hard",
    )
    kdedge("export", runs / "teacher", runs / "mlp", runs / "mlp-hard")
    result = json.loads(kdedge("bench", runs / "mlp", runs / "mlp-hard", runs / "teacher", "--json"))
    return {row["name"]: row for row in result["rows"]}


def mean_std(values, scale=1.0, digits=2) -> str:
    v = np.asarray(values, dtype=float) * scale
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"


def table(per_seed: list[dict]) -> str:
    lines = [
        "| model | test accuracy % | agreement with teacher % | p50 µs (batch 1, 1 thread) | ONNX KB | params |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in [*MODELS, "runtime floor"]:
        rows = [seed[name] for seed in per_seed]
        p50 = mean_std([r["latency"]["p50_us"] for r in rows], digits=1)
        if name == "runtime floor":
            lines.append(f"| runtime floor (Identity graph) | — | — | {p50} | — | — |")
            continue
        lines.append(
            f"| {MODELS[name]} | {mean_std([r['accuracy'] for r in rows], 100)} "
            f"| {mean_std([r['agreement'] for r in rows], 100)} "
            f"| {p50} "
            f"| {rows[0]['size_kb']:.1f} | {rows[0]['n_params']:,} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as root:
        per_seed = [one_seed(Path(root), seed) for seed in args.seeds]
    text = (
        f"Digits, seeds {args.seeds} (mean ± std), 539 test images. Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; took {time.perf_counter() - start:.0f} s.\n"
        f"Command: `.venv/bin/python benchmarks/spine_digits.py --seeds {' '.join(map(str, args.seeds))}`\n\n"
        + table(per_seed)
        + "\n"
    )
    emit(text, args.out)


if __name__ == "__main__":
    main()
