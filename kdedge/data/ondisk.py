"""Arrays larger than memory: read memory-mapped rows in chunks and keep the process's resident set bounded.

Pages of a memory-mapped file that a process has touched count in its RSS until the kernel needs the memory back,
so a pass over a 3 GB memmap would *look* like a 3 GB process. Dropping those pages from our mapping (they stay in
the page cache, and read-only or shared pages lose nothing) keeps the resident set at the size of a few chunks.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

CHUNK_BYTES = 16 << 20  # 16 MB of rows per chunk when hashing or scanning
RELEASE_BYTES = 32 << 20  # drop resident pages after reading this much through one mapping


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
    """Row access to an on-disk array for training loops: `len`, `shape`, `dtype` and `rows[idx]` (a slice, an
    integer, or sorted integer indices) returning an in-memory copy.

    A memory-mapped .npy (as `open_rows` gives) is read with positioned reads (`os.preadv`) instead of through the
    mapping: random rows through a mapping fault in whole neighbourhoods of pages (the kernel maps cached pages
    around each fault), so one epoch of shuffled batches would leave most of the file resident in this process.
    With preads only the page cache holds the file, and the process stays at the size of a batch. Any other array
    is indexed directly, its pages dropped every `release_bytes` read.
    """

    def __init__(self, array, release_bytes: int = RELEASE_BYTES):
        self.array = array
        self.release_bytes = release_bytes
        self._read = 0
        self._fd = None
        if _is_whole_file_map(array):
            self._fd = os.open(array.filename, os.O_RDONLY)
            self._row_bytes = int(np.prod(array.shape[1:], dtype=np.int64)) * array.dtype.itemsize
            self._offset = int(array.offset)

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
        if self._fd is not None:
            return self._pread(idx)
        rows = np.array(self.array[idx])
        self._read += rows.nbytes
        if self._read >= self.release_bytes:
            release_pages(self.array)
            self._read = 0
        return rows

    def _pread(self, idx) -> np.ndarray:
        if isinstance(idx, slice):
            start, stop, step = idx.indices(len(self))
            if step != 1:
                return self._pread(np.arange(start, stop, step))
            runs = [(start, max(0, stop - start))]
            count = runs[0][1]
        elif np.isscalar(idx):
            return self._pread(np.asarray([idx]))[0]
        else:
            rows = np.asarray(idx, dtype=np.int64)
            rows = np.where(rows < 0, rows + len(self), rows)
            if len(rows) and (rows.min() < 0 or rows.max() >= len(self)):
                raise IndexError(f"row index out of range for {len(self)} rows")
            # consecutive rows become one read
            edges = np.concatenate(([0], np.flatnonzero(np.diff(rows) != 1) + 1, [len(rows)]))
            runs = zip(rows[edges[:-1]].tolist(), np.diff(edges).tolist(), strict=True) if len(rows) else ()
            count = len(rows)
        out = np.empty((count, *self.shape[1:]), dtype=self.dtype)
        view = memoryview(out.reshape(-1).view(np.uint8))
        pos = 0
        for first, length in runs:
            size = length * self._row_bytes
            got = os.preadv(self._fd, [view[pos : pos + size]], self._offset + first * self._row_bytes)
            if got != size:
                raise OSError(f"{self.array.filename}: short read ({got} of {size} bytes); is the file truncated?")
            pos += size
        return out

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        self.close()


def _is_whole_file_map(array) -> bool:
    """A numpy memmap of a file from its data offset on (not a view into one), in C order."""
    return (
        isinstance(array, np.memmap)
        and isinstance(getattr(array, "base", None), mmap.mmap)
        and bool(getattr(array, "filename", None))
        and array.flags.c_contiguous
        and hasattr(os, "preadv")
    )


def open_rows(path: str | Path, release_bytes: int = RELEASE_BYTES) -> StreamingRows:
    """A `.npy` file as StreamingRows (memory-mapped read-only for its header and shape; rows read by pread)."""
    return StreamingRows(np.load(path, mmap_mode="r", allow_pickle=False), release_bytes)
