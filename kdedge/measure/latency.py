"""Latency through onnxruntime: session init and first run (medians over fresh sessions), warm-up, then
>= min_runs and >= min_seconds."""

from __future__ import annotations

import time

import numpy as np

from .timing import MIN_RUNS, MIN_SECONDS, time_calls

# profile names -> onnxruntime.GraphOptimizationLevel members
OPTIMIZATION_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}


def check_timing(threads=(1,), min_runs: int = 1, min_seconds: float = 0.0) -> None:
    """Refuse thread counts and timing bounds no measurement can use, before any model is loaded."""
    from ..errors import OptionError

    for t in threads:
        if t < 1:
            raise OptionError(f"--threads {t}: give 1 or more threads")
    if min_runs < 1:
        raise OptionError(f"--min-runs {min_runs}: give 1 or more timed runs")
    if not min_seconds >= 0:  # also NaN
        raise OptionError(f"--min-seconds {min_seconds}: give 0 or more seconds")


def make_session(model, threads: int, inter_op_threads: int = 1, optimization: str = "all"):
    """One CPU session with explicit thread counts (ORT's default uses every core, which boards don't share)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = inter_op_threads
    # inter-op threads only run independent branches in parallel mode
    parallel = inter_op_threads > 1
    options.execution_mode = ort.ExecutionMode.ORT_PARALLEL if parallel else ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPTIMIZATION_LEVELS[optimization])
    options.log_severity_level = 3  # skl2onnx forests declare shapes ORT warns about on every run
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def measure_latency(
    model_path: str,
    samples: np.ndarray,
    threads: int = 1,
    batch: int = 1,
    warmup_runs: int = 10,
    warmup_seconds: float = 0.2,
    min_runs: int = MIN_RUNS,
    min_seconds: float = MIN_SECONDS,
    inter_op_threads: int = 1,
    optimization: str = "all",
    fresh_sessions: int = 5,
) -> dict:
    """Time `session.run` on batches of `batch` rows cycled from `samples` (trees take data-dependent paths).

    Session init and the first call are one sample each per session, and one sample of either can be off by 50x
    (a page fault, a scheduler hiccup), so both are the median over `fresh_sessions` new sessions.
    """
    if len(samples) < batch:  # a batch larger than the data repeats samples rather than shrinking
        samples = np.resize(samples, (batch, *samples.shape[1:]))
    n = max(1, len(samples) // batch)
    batches = [np.ascontiguousarray(samples[i * batch : (i + 1) * batch], dtype=np.float32) for i in range(n)]
    init_ns, first_ns = [], []
    for _ in range(max(1, fresh_sessions)):
        t0 = time.perf_counter_ns()
        session = make_session(str(model_path), threads, inter_op_threads, optimization)
        init_ns.append(time.perf_counter_ns() - t0)
        name = session.get_inputs()[0].name
        outputs = [o.name for o in session.get_outputs()]
        t0 = time.perf_counter_ns()
        session.run(outputs, {name: batches[0]})
        first_ns.append(time.perf_counter_ns() - t0)
    timed = time_calls(
        lambda feed: session.run(outputs, feed),
        [{name: b} for b in batches],
        warmup_runs,
        warmup_seconds,
        min_runs,
        min_seconds,
    )
    return {
        "threads": threads,
        "inter_op_threads": inter_op_threads,
        "batch": batch,
        "optimization": optimization,
        **timed,
        "session_init_ms": float(np.median(init_ns)) / 1e6,
        "first_run_us": float(np.median(first_ns)) / 1e3,
        "fresh_sessions": len(init_ns),
        "session_init_ms_samples": [round(t / 1e6, 4) for t in init_ns],
        "first_run_us_samples": [round(t / 1e3, 2) for t in first_ns],
        "p50_us_per_sample": timed["p50_us"] / batch,
    }
