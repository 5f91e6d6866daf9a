"""Teacher outputs over a transfer set: computed once, in batches, into a memory-mapped .npy in the run directory.

The cache key is the teacher's fingerprint plus a chunked hash of the inputs, so a rerun (or `--overwrite` of the
same run) reuses the outputs, and a transfer set larger than memory never needs a second copy in RAM: inputs are
read a batch at a time, outputs are written straight into the memmap, and the result is returned memory-mapped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .._io import atomic_path, read_json, write_json
from ..data import fingerprint_arrays
from ..data.ondisk import iter_row_chunks, release_pages
from ..errors import DataError
from ..progress import progress_bar
from ..runs import TARGETS_DIR as CACHE_DIR


def teacher_logits(
    teacher, x: np.ndarray, split: str, run_dir: Path, previous_run: Path | None = None, batch_size: int = 2048
) -> np.ndarray:
    """Logits (N, K) float32 of `teacher` on `x` (an array, a memmap or StreamingRows), memory-mapped copy-on-write
    (edits stay in memory, the cache file never changes).

    Reused from `run_dir` or `previous_run` when the teacher and the inputs match the cached ones.
    """
    key = {"teacher": teacher.fingerprint, "inputs": fingerprint_arrays(x), "shape": [len(x), teacher.n_classes]}
    name = f"teacher_logits.{split}"
    target = Path(run_dir) / CACHE_DIR
    for folder in (target, None if previous_run is None else Path(previous_run) / CACHE_DIR):
        if folder is not None and _matches(folder / f"{name}.json", key):
            if folder != target:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(folder / f"{name}.npy", target / f"{name}.npy")
                shutil.copy2(folder / f"{name}.json", target / f"{name}.json")
            return np.load(target / f"{name}.npy", mmap_mode="c", allow_pickle=False)
    target.mkdir(parents=True, exist_ok=True)
    with atomic_path(target / f"{name}.npy") as tmp:
        _write_logits(teacher, x, tmp, batch_size, label=f"teacher outputs · {split}")
    write_json(target / f"{name}.json", key)
    return np.load(target / f"{name}.npy", mmap_mode="c", allow_pickle=False)


def _write_logits(teacher, x, path: Path, batch_size: int, label: str) -> None:
    n, k = len(x), int(teacher.n_classes)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, k))
    with progress_bar(label, total=-(-n // batch_size)) as advance:
        for start, chunk in iter_row_chunks(x, rows=batch_size):
            logits = np.asarray(teacher.logits(chunk), np.float32)
            if logits.shape != (len(chunk), k):
                raise DataError(
                    f"teacher {teacher.name} returned shape {logits.shape} for {len(chunk)} inputs; expected "
                    f"({len(chunk)}, {k})"
                )
            out[start : start + len(chunk)] = logits
            if (start // batch_size) % 64 == 63:  # keep written pages from piling up in this process
                release_pages(out)
            advance()
    out.flush()
    del out


def _matches(meta: Path, key: dict) -> bool:
    try:
        return meta.is_file() and read_json(meta) == key and meta.with_suffix(".npy").is_file()
    except ValueError:
        return False
