"""Bench the runs no bench file covers (benched without --out, or never), so every exported run is in the report.

Each run is measured alone, on its own data's test split, the way `kdedge bench RUN` does (its C export too), at
batch 1 on one thread, with a short timing window and without memory or the runtime floor: the page says these
figures were measured by the report, and when. Nothing is written into the runs.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import KdedgeError
from ..runs import ONNX_FILE, now
from .collect import BenchResult, RunInfo

LABEL = "measured by this report"


def bench_missing(runs: list[RunInfo], seconds: float) -> tuple[BenchResult | None, list[str]]:
    """(one bench result holding a row per run, or None; notes on runs that could not be measured)."""
    from ..measure import bench, load
    from ..measure.runs import bench_entries, c_entries
    from ..progress import progress_bar

    rows, notes, result = [], [], None
    load_before = load.load_average()
    with progress_bar("report: bench", len(runs)) as advance:
        for run in runs:
            try:
                dataset, entries, _ = bench_entries([run.path], names=[run.label])
                c_found, _ = c_entries([run.path], names=[run.label])
                x, y = dataset.split("test")
                result = bench(
                    entries, x, y, memory=False, floor=False, c_entries=c_found,
                    latency_options={"min_runs": 20, "min_seconds": seconds},
                )  # fmt: skip
                rows += [{**row, "data": dataset.describe()} for row in result["rows"]]  # runs differ in data
            except KdedgeError as exc:  # its data moved, its graph damaged...: said on the page, the rest goes on
                notes.append(f"{run.label}: not measured ({exc})")
            advance(run.label)
    if result is None:
        return None, notes
    merged = {
        **result,
        "rows": rows,
        "data": {"name": " / ".join(sorted({row["data"]["name"] for row in rows}))},
        "test_samples": "each run's own",
        "load": load.load_record(load_before, load.load_average()),
        "notes": [
            f"{LABEL} at {now()}: each run alone on its own test split, batch 1, one thread, "
            f"≥ {seconds:g} s timed per model; no memory, no floor"
        ],  # fmt: skip
    }
    return BenchResult(LABEL, None, merged), notes


def unmeasured(runs: list[RunInfo], measured: set[str]) -> tuple[list[RunInfo], list[str]]:
    """(exported runs no bench file measured, labels of runs with no model.onnx to measure)."""
    missing, not_exported = [], []
    for run in runs:
        if run.label in measured:
            continue
        if (Path(run.path) / ONNX_FILE).is_file():
            missing.append(run)
        else:
            not_exported.append(run.label)
    return missing, not_exported
