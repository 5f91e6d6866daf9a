"""Bench results as CSV: one row per model per (threads, batch) combination, for spreadsheets and plots."""

from __future__ import annotations

import csv
import io

COLUMNS = (
    "name",
    "kind",
    "family",
    "precision",
    "target",
    "path",
    "accuracy",
    "agreement",
    "size_kb",
    "n_params",
    "threads",
    "inter_op_threads",
    "batch",
    "optimization",
    "p50_us",
    "p90_us",
    "p99_us",
    "mean_us",
    "min_us",
    "p50_us_per_sample",
    "first_run_us",
    "session_init_ms",
    "fresh_sessions",
    "runs",
    "memory_mb",
    "memory_above_floor_mb",
    "p50_above_floor_vs_teacher",
)


def csv_text(result: dict) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in result["rows"]:
        memory = row.get("memory") or {}
        for block in row.get("latencies", [row["latency"]]):
            values = {
                **row,
                **block,
                "memory_mb": memory.get("model_mb"),
                "memory_above_floor_mb": memory.get("above_floor_mb"),
                # a ratio of the headline block only (the first threads and batch), as in the table
                "p50_above_floor_vs_teacher": (row.get("vs_teacher") or {}).get("p50_above_floor")
                if block is row.get("latency")
                else None,
            }
            writer.writerow({k: _short(v) for k, v in values.items()})
    return out.getvalue()


def _short(value):
    """Six significant digits: timer noise is far larger than that."""
    return float(f"{value:.6g}") if isinstance(value, float) else value
