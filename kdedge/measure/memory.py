"""Peak memory of a fresh process that loads and runs a model, minus an empty-process baseline."""

from __future__ import annotations

import json
import subprocess
import sys


def _probe(args: list[str]) -> int:
    out = subprocess.run(
        [sys.executable, "-m", "kdedge.measure.memprobe", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return int(json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_kb"])


def baseline_kb() -> int:
    """Peak RSS of a process that imports numpy and onnxruntime and loads nothing (median of 3)."""
    return sorted(_probe(["--baseline"]) for _ in range(3))[1]


def peak_memory_mb(model_path: str, threads: int = 1, baseline: int | None = None, optimization: str = "all") -> dict:
    base = baseline_kb() if baseline is None else baseline
    peak = _probe([str(model_path), "--threads", str(threads), "--optimization", optimization])
    return {"peak_rss_mb": peak / 1024, "baseline_rss_mb": base / 1024, "model_mb": max(peak - base, 0) / 1024}
