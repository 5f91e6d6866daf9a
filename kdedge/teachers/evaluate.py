"""`kdedge teacher eval`: the teacher's own figures on a data split, the line every student is compared to."""

from __future__ import annotations

import numpy as np

LATENCY_SAMPLES = 256


def exported_latency(teacher, samples: np.ndarray, threads: int, options: dict) -> dict | None:
    """Through onnxruntime when the teacher is a run with an fp32 model.onnx, as `kdedge bench` measures it (so the
    two commands print the same figure); None otherwise."""
    from ..measure import model_metadata
    from ..measure.latency import measure_latency

    run = getattr(teacher, "run", None)
    if run is None or not run.onnx_path.is_file():
        return None
    meta = model_metadata(run.onnx_path)
    if meta.get("precision", "fp32") != "fp32":
        return None
    level = meta.get("graph_optimization", "all")
    measured = measure_latency(run.onnx_path, samples, threads, optimization=level, **options)
    return {"runtime": f"onnxruntime ({run.onnx_path.name})", **measured}


def evaluate_teacher(teacher, dataset, split: str = "test", threads: int = 1, latency_options: dict | None = None):
    """Accuracy, per-class accuracy and batch-1 latency of a bound teacher on `dataset`'s `split`."""
    x, y = dataset.split(split)
    predicted = np.concatenate([teacher.logits(x[i : i + 1024]).argmax(1) for i in range(0, len(x), 1024)])
    per_class = []
    for k, name in enumerate(dataset.class_names):
        mask = y == k
        per_class.append(
            {
                "class": name,
                "samples": int(mask.sum()),
                "accuracy": float(np.mean(predicted[mask] == k)) if mask.any() else None,
            }
        )
    samples = np.ascontiguousarray(x[:LATENCY_SAMPLES], np.float32)
    latency = exported_latency(teacher, samples, threads, latency_options or {})
    if latency is None:  # not exported: the native model's latency, labelled with its runtime (torch eager...)
        latency = teacher.latency(samples, threads, **(latency_options or {}))
    return {
        "teacher": teacher.describe(),
        "data": dataset.describe(),
        "split": split,
        "samples": int(len(x)),
        "accuracy": float(np.mean(predicted == y)),
        "per_class": per_class,
        "latency": latency,
    }
