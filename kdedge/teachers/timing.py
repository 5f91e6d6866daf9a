"""Batch-1 latency of torch eager teachers, timed exactly as kdedge.measure times onnxruntime."""

from __future__ import annotations

import numpy as np

from ..measure.timing import time_calls


def torch_latency(module, samples: np.ndarray, threads: int = 1, **options) -> dict:
    """Eager batch-1 latency of a torch module under inference mode, with `threads` intra-op threads."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        module.eval()
        rows = [torch.as_tensor(np.ascontiguousarray(samples[i : i + 1], np.float32)) for i in range(len(samples))]
        with torch.inference_mode():
            result = time_calls(module, rows, **options)
    finally:
        torch.set_num_threads(previous)
    return {"runtime": "torch eager", "threads": threads, "batch": 1, **result}
