"""Measure exported models side by side. Imports only numpy and onnxruntime, so it runs on a board."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .latency import measure_latency
from .memory import baseline_kb, peak_memory_mb
from .quality import accuracy, agreement, predict

FLOOR_DIR = Path(__file__).with_name("floor")
FLOOR_NAME = "runtime floor"


@dataclass
class Entry:
    name: str
    model_path: Path
    kind: str = "student"  # "teacher" | "student" | "floor"


def model_metadata(model_path) -> dict[str, str]:
    from .latency import make_session

    meta = make_session(str(model_path), 1).get_modelmeta().custom_metadata_map
    return {k.removeprefix("kdedge."): v for k, v in meta.items()}


def floor_model(sample_ndim: int) -> Path:
    """An Identity graph of the same input rank: what onnxruntime costs per call before any model work."""
    path = FLOOR_DIR / f"identity_rank{sample_ndim + 1}.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"no runtime-floor graph for inputs of rank {sample_ndim + 1}")
    return path


def machine() -> dict:
    import onnxruntime as ort

    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
    }


def bench(
    entries: list[Entry],
    x: np.ndarray,
    y: np.ndarray,
    threads: int = 1,
    memory: bool = True,
    floor: bool = True,
    latency_options: dict | None = None,
) -> dict:
    """Accuracy, agreement with the teacher entry, latency, memory, size and parameters for each entry."""
    latency_options = latency_options or {}
    samples = x[: min(len(x), 256)]
    base = baseline_kb() if memory else None
    rows, labels_of = [], {}
    for entry in entries:
        _, labels = predict(entry.model_path, x, threads)
        labels_of[entry.name] = labels
        meta = model_metadata(entry.model_path)
        row = {
            "name": entry.name,
            "kind": entry.kind,
            "family": meta.get("family", "?"),
            "path": str(entry.model_path),
            "accuracy": accuracy(labels, y),
            "size_kb": entry.model_path.stat().st_size / 1024,
            "n_params": int(meta["n_params"]) if "n_params" in meta else None,
            "latency": measure_latency(entry.model_path, samples, threads, **latency_options),
        }
        if memory:
            row["memory"] = peak_memory_mb(entry.model_path, threads, base)
        rows.append(row)
    teacher = next((r for r in rows if r["kind"] == "teacher"), None)
    for row in rows:
        if teacher is not None:
            row["agreement"] = agreement(labels_of[row["name"]], labels_of[teacher["name"]])
            row["vs_teacher"] = _ratios(row, teacher)
    if floor:
        path = floor_model(x.ndim - 1)
        row = {
            "name": FLOOR_NAME,
            "kind": "floor",
            "family": "identity",
            "path": str(path),
            "latency": measure_latency(path, samples, threads, **latency_options),
        }
        if memory:
            row["memory"] = peak_memory_mb(path, threads, base)
        rows.append(row)
    return {"threads": threads, "test_samples": int(len(x)), "machine": machine(), "rows": rows}


def _ratios(row: dict, teacher: dict) -> dict:
    def ratio(a, b):
        return None if a is None or not b else a / b

    return {
        "p50": ratio(row["latency"]["p50_us"], teacher["latency"]["p50_us"]),
        "size": ratio(row["size_kb"], teacher["size_kb"]),
        "params": ratio(row["n_params"], teacher["n_params"]),
    }
