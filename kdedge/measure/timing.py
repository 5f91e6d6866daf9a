"""Time a callable the way every kdedge latency figure is timed: first call, warm-up by count and time, then at
least `min_runs` calls and `min_seconds`, garbage collection off. numpy only, so it runs on a board."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence

import numpy as np

# How long every latency figure is timed unless the user says otherwise: the one place these defaults live
# (`kdedge bench`, `kdedge.bench`, boards, C rows, search trials and teacher eval read them from here).
MIN_RUNS = 50
MIN_SECONDS = 1.0


def time_calls(
    call: Callable,
    inputs: Sequence,
    warmup_runs: int = 10,
    warmup_seconds: float = 0.2,
    min_runs: int = MIN_RUNS,
    min_seconds: float = MIN_SECONDS,
) -> dict:
    n = len(inputs)
    t0 = time.perf_counter_ns()
    call(inputs[0])
    first_ns = time.perf_counter_ns() - t0
    runs, start = 0, time.perf_counter()
    while runs < warmup_runs or time.perf_counter() - start < warmup_seconds:
        call(inputs[runs % n])
        runs += 1
    times: list[int] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a collection inside a timed call is Python's cost, not the model's
    try:
        start = time.perf_counter()
        while len(times) < min_runs or time.perf_counter() - start < min_seconds:
            item = inputs[len(times) % n]
            t0 = time.perf_counter_ns()
            call(item)
            times.append(time.perf_counter_ns() - t0)
    finally:
        if gc_was_enabled:
            gc.enable()
    return summarize(first_ns, runs, times)


RAW_KEPT = 10_000  # per-call times kept in a record (`raw_us`): evenly spaced over the loop when there were more


def summarize(first_ns: int, warmup_runs: int, times_ns) -> dict:
    """The latency figures of one timed loop (also for loops timed elsewhere, as in the compiled C harness); the
    percentiles use every timed call, `raw_us` at most RAW_KEPT of them, evenly spaced, so records stay small."""
    us = np.asarray(times_ns, dtype=np.float64) / 1e3
    kept = us if len(us) <= RAW_KEPT else us[np.linspace(0, len(us) - 1, RAW_KEPT).astype(np.int64)]
    return {
        "first_run_us": first_ns / 1e3,
        "warmup_runs": warmup_runs,
        "runs": len(us),
        "p50_us": float(np.percentile(us, 50)),
        "p90_us": float(np.percentile(us, 90)),
        "p99_us": float(np.percentile(us, 99)),
        "mean_us": float(us.mean()),
        "min_us": float(us.min()),
        "raw_us": kept.round(3).tolist(),
    }
