"""Teacher outputs over a transfer set: computed once, in batches, and cached in the run directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .._io import atomic_path, read_json, write_json
from ..data import fingerprint_arrays

CACHE_DIR = "targets"


def teacher_logits(
    teacher, x: np.ndarray, split: str, run_dir: Path, previous_run: Path | None = None, batch_size: int = 2048
) -> np.ndarray:
    """Logits of `teacher` on `x`, reused from `run_dir` or `previous_run` when teacher and inputs match."""
    key = {"teacher": teacher.fingerprint, "inputs": fingerprint_arrays(x), "shape": [len(x), teacher.n_classes]}
    name = f"teacher_logits.{split}"
    target = Path(run_dir) / CACHE_DIR
    for folder in (target, None if previous_run is None else Path(previous_run) / CACHE_DIR):
        if folder is not None and _matches(folder / f"{name}.json", key):
            if folder != target:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(folder / f"{name}.npy", target / f"{name}.npy")
                shutil.copy2(folder / f"{name}.json", target / f"{name}.json")
            return np.load(target / f"{name}.npy", allow_pickle=False)
    logits = np.concatenate(
        [np.asarray(teacher.logits(x[i : i + batch_size]), np.float32) for i in range(0, len(x), batch_size)]
    )
    target.mkdir(parents=True, exist_ok=True)
    with atomic_path(target / f"{name}.npy") as tmp, open(tmp, "wb") as f:
        np.save(f, logits, allow_pickle=False)
    write_json(target / f"{name}.json", key)
    return logits


def _matches(meta: Path, key: dict) -> bool:
    try:
        return meta.is_file() and read_json(meta) == key
    except ValueError:
        return False
