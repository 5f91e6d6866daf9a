"""Teacher outputs over a transfer set: computed once, in batches, into the shared teacher-output cache
(`kdedge.target_cache`), memory-mapped.

The key is the teacher's fingerprint plus a chunked hash of the inputs, so any run — this one again, another
folder, a recipe, a sweep or a search trial — reuses the outputs, and a transfer set larger than memory never needs
a second copy in RAM: inputs are read a batch at a time, outputs are written straight into the memmap, and the
result is returned memory-mapped.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..cluster import targets_scheduler
from ..data import fingerprint_arrays
from ..data.ondisk import iter_row_chunks, release_pages
from ..errors import DataError
from ..progress import progress_bar
from ..target_cache import TargetCache


class TeacherOutputs(NamedTuple):
    logits: np.ndarray  # (N, K) float32, memory-mapped copy-on-write
    entry: str  # the cache key, recorded by the run
    reused: bool
    computed_on: str = "here"  # or "dask (N workers)" (kdedge.cluster)


def teacher_logits(
    teacher, x: np.ndarray, split: str, cache: TargetCache | None = None, batch_size: int = 2048
) -> TeacherOutputs:
    """Logits of `teacher` on `x` (an array, a memmap or StreamingRows), from the cache when the teacher and the
    inputs match an entry, else computed into a new entry. Edits to the returned array stay in memory."""
    cache = cache if cache is not None else TargetCache()
    meta = {
        "teacher": teacher.fingerprint,
        "teacher_name": str(getattr(teacher, "name", "")),
        "inputs": fingerprint_arrays(x),
        "shape": [len(x), int(teacher.n_classes)],
    }
    key = TargetCache.key(meta["teacher"], meta["inputs"], tuple(meta["shape"]))
    found = cache.get(key, meta)
    if found is not None:
        return TeacherOutputs(found, key, True)
    label = f"teacher outputs · {split}"
    scheduler = targets_scheduler()
    if scheduler is None:
        logits = cache.put(key, meta, lambda path: _write_logits(teacher, x, path, batch_size, label))
        return TeacherOutputs(logits, key, False)
    from .dask_targets import write_logits_on_dask

    where: dict = {}
    logits = cache.put(key, meta, lambda path: where.update(write_logits_on_dask(scheduler, teacher, x, path, label)))
    return TeacherOutputs(logits, key, False, where["computed_on"])


def _write_logits(teacher, x, path: Path, batch_size: int, label: str) -> None:
    n, k = len(x), int(teacher.n_classes)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, k))
    with progress_bar(label, total=-(-n // batch_size)) as advance:
        for start, chunk in iter_row_chunks(x, rows=batch_size):
            logits = checked_logits(teacher, chunk)
            out[start : start + len(chunk)] = logits
            if (start // batch_size) % 64 == 63:  # keep written pages from piling up in this process
                release_pages(out)
            advance()
    out.flush()
    del out


def checked_logits(teacher, chunk: np.ndarray) -> np.ndarray:
    logits = np.asarray(teacher.logits(chunk), np.float32)
    k = int(teacher.n_classes)
    if logits.shape != (len(chunk), k):
        raise DataError(
            f"teacher {teacher.name} returned shape {logits.shape} for {len(chunk)} inputs; expected "
            f"({len(chunk)}, {k})"
        )
    return logits
