"""`kdedge teacher eval`: the teacher's own figures on a data split, the line every student is compared to."""

from __future__ import annotations

import numpy as np

LATENCY_SAMPLES = 256


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
    latency = teacher.latency(np.ascontiguousarray(x[:LATENCY_SAMPLES], np.float32), threads, **(latency_options or {}))
    return {
        "teacher": teacher.describe(),
        "data": dataset.describe(),
        "split": split,
        "samples": int(len(x)),
        "accuracy": float(np.mean(predicted == y)),
        "per_class": per_class,
        "latency": latency,
    }
