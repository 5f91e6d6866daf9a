"""The teacher-output cache every run on this machine shares: teacher logits over a set of inputs, kept as a
memory-mapped .npy under a key made of the teacher's fingerprint, the inputs' fingerprint and the output shape.

A second distill from the same teacher on the same transfer set — into another folder, from a recipe, a sweep or a
search trial — reads the entry instead of running the teacher again. Entries live in `$KDEDGE_CACHE_DIR/targets`
(default `$XDG_CACHE_HOME/kdedge`, else `~/.cache/kdedge`), capped at `KDEDGE_CACHE_MAX_MB` (least recently used
entries go first). Safe with several writers: an entry appears by atomic rename, two writers of one key write the
same bytes, and a reader that loses an entry to another process's trimming treats it as a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._io import atomic_path, write_json
from .errors import OptionError

CACHE_ENV = "KDEDGE_CACHE_DIR"
MAX_MB_ENV = "KDEDGE_CACHE_MAX_MB"
DEFAULT_MAX_MB = 4096  # a few 50x transfer sets of a small data set; big pools need a larger cap or their own dir


def cache_root() -> Path:
    """Where kdedge keeps what it can recompute: --cache-dir / KDEDGE_CACHE_DIR, else the XDG cache folder."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kdedge"


def set_cache_dir(path: str | os.PathLike | None) -> None:
    """Use `path` as the cache folder from here on in this process (and the jobs it starts)."""
    if path is None:
        return
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise OptionError(f"--cache-dir {path}: that is a file; give a folder (it is created if missing)")
    os.environ[CACHE_ENV] = str(path.resolve())


def max_bytes() -> int:
    raw = os.environ.get(MAX_MB_ENV, str(DEFAULT_MAX_MB))
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = -1
    if megabytes < 0:
        raise OptionError(f"{MAX_MB_ENV}={raw!r}: give a size in MB, 0 or more")
    return int(megabytes * 2**20)


@dataclass(frozen=True)
class CacheEntry:
    key: str
    path: Path  # the .npy
    meta: dict
    size_bytes: int
    last_used: float  # seconds since the epoch

    def describe(self) -> dict:
        return {
            "key": self.key,
            "teacher": self.meta.get("teacher_name", ""),
            "teacher_fingerprint": self.meta.get("teacher", ""),
            "inputs_fingerprint": self.meta.get("inputs", ""),
            "shape": self.meta.get("shape", []),
            "size_bytes": self.size_bytes,
            "last_used": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.last_used)),
        }


class TargetCache:
    """Entries `<key>.npy` (the logits) and `<key>.json` (what they are); the .json's mtime is the last use."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder is not None else cache_root() / "targets"

    @staticmethod
    def key(teacher_fingerprint: str, inputs_fingerprint: str, shape: tuple[int, int]) -> str:
        text = json.dumps([teacher_fingerprint, inputs_fingerprint, list(shape)])
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def get(self, key: str, meta: dict) -> np.ndarray | None:
        """The entry's logits memory-mapped copy-on-write (edits stay in memory), or None on a miss."""
        npy, info = self._files(key)
        try:
            if json.loads(info.read_text()) != meta:
                return None
            logits = np.load(npy, mmap_mode="c", allow_pickle=False)
            os.utime(info)
        except (FileNotFoundError, ValueError, OSError):  # absent, trimmed meanwhile, or damaged: recompute
            return None
        return logits

    def put(self, key: str, meta: dict, write: Callable[[Path], None]) -> np.ndarray:
        """Write an entry with `write(path)` (an .npy), then trim the others to the size cap."""
        npy, info = self._files(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(npy) as tmp:
            write(tmp)
        write_json(info, meta)  # after the .npy: a .json always names a complete entry
        self.trim(keep=key)
        return np.load(npy, mmap_mode="c", allow_pickle=False)

    def entries(self) -> list[CacheEntry]:
        """kdedge's entries only: a file of another name or content in the folder is never listed or removed."""
        found = []
        for info in sorted(self.folder.glob("*.json")):
            npy = info.with_suffix(".npy")
            try:
                meta = json.loads(info.read_text())
                if not _is_entry(info.stem, meta):
                    continue
                found.append(CacheEntry(info.stem, npy, meta, npy.stat().st_size, info.stat().st_mtime))
            except (FileNotFoundError, ValueError):
                continue  # half-removed by another process, or not ours
        return found

    def remove(self, entry: CacheEntry) -> None:
        # the .json first: once it is gone nobody reads the entry; a mapped .npy stays readable after unlink
        entry.path.with_suffix(".json").unlink(missing_ok=True)
        entry.path.unlink(missing_ok=True)

    def clear(self) -> list[CacheEntry]:
        gone = self.entries()
        for entry in gone:
            self.remove(entry)
        return gone

    def trim(self, keep: str | None = None) -> list[CacheEntry]:
        """Remove least recently used entries until the rest fit the cap; `keep` (just written) always stays."""
        cap = max_bytes()
        entries = sorted(self.entries(), key=lambda e: e.last_used)
        total = sum(e.size_bytes for e in entries)
        gone = []
        for entry in entries:
            if total <= cap:
                break
            if entry.key == keep:
                continue
            self.remove(entry)
            total -= entry.size_bytes
            gone.append(entry)
        return gone

    def _files(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"{key}.npy", self.folder / f"{key}.json"


def _is_entry(stem: str, meta) -> bool:
    """Whether `<stem>.json` holding `meta` is an entry this module wrote: its name is the key of its contents."""
    try:
        return stem == TargetCache.key(meta["teacher"], meta["inputs"], tuple(meta["shape"]))
    except (TypeError, KeyError):
        return False
