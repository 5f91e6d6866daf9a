"""Teacher outputs over a transfer set or pool computed on a Dask cluster (`distill --backend dask --scheduler`).

The teacher goes to every worker once (scattered, broadcast); the inputs go chunk by chunk, a few chunks per worker
in flight, so neither this process nor a worker ever holds the whole set. Each worker returns its chunk's logits,
written here straight into the cache entry's memory-mapped .npy, so the entry, its key and its reuse are exactly
those of a local computation (`targets.teacher_logits`): a second run finds it whichever way it was computed.
"""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

import numpy as np

from ..cluster import dask_client, worker_count
from ..data.ondisk import iter_row_chunks
from ..progress import progress_bar

CHUNK_BYTES = 8 * 2**20  # inputs per task: large enough to keep a worker busy, small enough to send quickly
IN_FLIGHT_PER_WORKER = 2  # one computing, one arriving
CHUNKS_PER_WORKER = 4
MIN_ROWS = 256  # below this a task costs more to send than to compute


def write_logits_on_dask(scheduler: str, teacher, x, path: Path, label: str) -> dict:
    from distributed import as_completed

    n, k = len(x), int(teacher.n_classes)
    row_bytes = max(1, int(np.prod(x.shape[1:], dtype=np.int64)) * np.dtype(x.dtype).itemsize)
    with dask_client(scheduler) as client:
        workers = worker_count(client)
        # at least CHUNKS_PER_WORKER chunks for each worker (all of them busy to the end), none over CHUNK_BYTES
        rows = max(1, min(CHUNK_BYTES // row_bytes, max(MIN_ROWS, -(-n // (CHUNKS_PER_WORKER * workers)))))
        [remote_teacher] = client.scatter([teacher], broadcast=True, hash=False)
        chunks = iter_row_chunks(x, rows=rows)
        token = uuid.uuid4().hex[:12]  # keys of this computation only, named for the cluster's dashboard

        def submit(start: int, chunk: np.ndarray):
            key = f"kdedge-teacher-outputs-{token}-{start}"
            return client.submit(_chunk_logits, remote_teacher, chunk, start, n, key=key, pure=False)

        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, k))
        with progress_bar(f"{label} · dask, {workers} workers", total=-(-n // rows)) as advance:
            pending = as_completed([submit(*c) for c in itertools.islice(chunks, IN_FLIGHT_PER_WORKER * workers)])
            for future in pending:
                start, logits = future.result()
                out[start : start + len(logits)] = logits
                advance()
                following = next(chunks, None)
                if following is not None:
                    pending.add(submit(*following))
        out.flush()
        del out
    return {"computed_on": f"dask ({workers} worker{'s' * (workers != 1)})"}


def _chunk_logits(teacher, chunk: np.ndarray, start: int, total_rows: int) -> tuple[int, np.ndarray]:
    """On a worker: the teacher's logits for one chunk, with the worker's thread share (KDEDGE_THREADS there)."""
    from ..compute import apply_training_threads
    from .targets import checked_logits

    apply_training_threads()
    if hasattr(teacher, "use_onnxruntime"):  # the run's exported graph where it has one, as locally
        teacher.use_onnxruntime(total_rows)
    return start, checked_logits(teacher, chunk)
