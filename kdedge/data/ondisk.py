"""Arrays larger than memory: read memory-mapped rows in chunks and keep the process's resident set bounded.

Pages of a memory-mapped file that a process has touched count in its RSS until the kernel needs the memory back,
so a pass over a 3 GB memmap would *look* like a 3 GB process. Dropping those pages from our mapping (they stay in
the page cache, and read-only or shared pages lose nothing) keeps the resident set at the size of a few chunks.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from pathlib import Path

import numpy as np

CHUNK_BYTES = 16 << 20  # 16 MB of rows per chunk when hashing or scanning
RELEASE_BYTES = 256 << 20  # drop resident pages after reading this much through one mapping


def _mapping_of(a) -> mmap.mmap | None:
    """The mmap object behind a numpy memmap (or a view of one), found through `.base`."""
    base = a
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
    return base


def release_pages(a) -> bool:
    """Drop `a`'s resident file pages from this process (no-op for in-memory arrays). Returns True if dropped.

    Only for shared mappings (numpy modes r, r+, w+): in a copy-on-write mapping (mode c) it would discard edits.
    """
    if getattr(a, "mode", None) not in ("r", "r+", "w+") or not hasattr(mmap, "MADV_DONTNEED"):
        return False
    mapping = _mapping_of(a)
    if mapping is None or mapping.closed:
        return False
    if getattr(a, "mode", None) != "r":
        mapping.flush()  # written pages reach the file before they leave our mapping
    mapping.madvise(mmap.MADV_DONTNEED)
    return True


def iter_row_chunks(a, rows: int | None = None, max_bytes: int = CHUNK_BYTES) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (start, contiguous rows) over `a` without ever holding more than one chunk in memory."""
    n = len(a)
    if rows is None:
        row_bytes = max(1, int(np.prod(a.shape[1:], dtype=np.int64)) * np.dtype(a.dtype).itemsize)
        rows = max(1, max_bytes // row_bytes)
    read = 0
    for start in range(0, n, rows):
        chunk = np.ascontiguousarray(a[start : start + rows])
        yield start, chunk
        read += chunk.nbytes
        if read >= RELEASE_BYTES:
            release_pages(a)
            read = 0
    release_pages(a)


class StreamingRows:
    """Row access to a memory-mapped array for training loops: `len`, `shape`, `dtype` and `rows[idx]` (a slice or
    sorted indices) returning an in-memory copy. Resident pages are dropped every `release_bytes` read, so one epoch
    over a file larger than memory keeps the process small."""

    def __init__(self, array, release_bytes: int = RELEASE_BYTES):
        self.array = array
        self.release_bytes = release_bytes
        self._read = 0

    def __len__(self) -> int:
        return len(self.array)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def __getitem__(self, idx) -> np.ndarray:
        rows = np.array(self.array[idx])
        self._read += rows.nbytes
        if self._read >= self.release_bytes:
            release_pages(self.array)
            self._read = 0
        return rows


def open_rows(path: str | Path, release_bytes: int = RELEASE_BYTES) -> StreamingRows:
    """A `.npy` file as StreamingRows (memory-mapped read-only; no pickle)."""
    return StreamingRows(np.load(path, mmap_mode="r", allow_pickle=False), release_bytes)
