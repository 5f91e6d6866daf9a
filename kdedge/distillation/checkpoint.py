"""Resumable training: the training loop's state saved beside the run being written, so the same command resumes.

A long training (a teacher on 60,000 images is tens of minutes) must survive a kill, a reboot or Ctrl-C. While
`fit_run` writes `runs/x`, the loop saves its whole state — weights, optimizer, schedule, the random streams, the
best-on-val weights and the history — to `runs/.x.resume/` every KDEDGE_CHECKPOINT_EVERY seconds (default 30) of
training; a run shorter than that writes nothing there. Run the same command again and it starts from the last
saved epoch; the result is the same as an uninterrupted run with the same seed (tested). A checkpoint only resumes
the run it was made for: its key is a hash of everything that decides the training (data fingerprint, family,
options, method, transfer set, teacher, seed); another command replaces it. The folder is removed once the run
is in place.

Checkpoints are read with `torch.load(weights_only=True)`: tensors and plain containers only, never pickled code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from .._io import write_json

KEY = "key.json"
_active: dict | None = None  # {"folder", "stage", "key"} while fit_run trains a neural model


def resume_folder(out: Path) -> Path:
    out = Path(out)
    return out.parent / f".{out.name}.resume"


def checkpoint_every() -> float:
    try:
        return max(0.0, float(os.environ.get("KDEDGE_CHECKPOINT_EVERY", "30")))
    except ValueError:
        return 30.0


def run_key(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


@contextlib.contextmanager
def resumable(out: Path, key_parts: dict, enabled: bool = True) -> Iterator[None]:
    """Inside the block, `stage()` hands each training stage its checkpoint file in `.OUT.resume/` (made at the
    first save). A folder with another key (an older command's) is removed. On success the folder goes; on a
    failure it stays, for the same command to resume."""
    global _active
    if not enabled:
        yield
        return
    folder, key = resume_folder(out), run_key(key_parts)
    if folder.exists() and not (folder / KEY).is_file() and any(folder.iterdir()):
        from ..errors import RunError  # not a checkpoint kdedge wrote: never removed

        raise RunError(
            f"{folder} exists and is not a kdedge checkpoint (no {KEY}); move it away or choose another --out"
        )
    if folder.exists():
        try:
            same = json.loads((folder / KEY).read_text()).get("key") == key
        except (OSError, ValueError):
            same = False
        if not same:
            shutil.rmtree(folder, ignore_errors=True)
    _active = {"folder": folder, "stage": 0, "key": {"key": key, "parts": key_parts}}
    try:
        yield
    finally:
        _active = None
    shutil.rmtree(folder, ignore_errors=True)  # reached only when the block succeeded


def stage() -> Path | None:
    """The checkpoint file of the next training stage (one per call of the loop), or None outside `resumable`."""
    if _active is None:
        return None
    _active["stage"] += 1
    return _active["folder"] / f"stage{_active['stage']}.pt"


def load(path: Path | None) -> dict | None:
    if path is None or not path.is_file():
        return None
    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception:  # a checkpoint cut off by a crash mid-write cannot resume: start the stage again
        return None
    side = path.with_suffix(".json")
    state["extra"] = json.loads(side.read_text()) if side.is_file() else {}
    return state


def save(path: Path, state: dict, extra: dict) -> None:
    """Tensors and containers via torch.save, JSON-only state (numpy bit generators) beside; both atomic."""
    import torch

    if not (path.parent / KEY).is_file():  # the first save of this command: the folder and what it resumes
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path.parent / KEY, _active["key"] if _active else {})
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, str(tmp))
    write_json(path.with_suffix(".json"), extra)
    os.replace(tmp, path)


class Saver:
    """Decides when the loop saves: every `checkpoint_every()` seconds of training, never after the last epoch (the
    run itself is written next)."""

    def __init__(self, path: Path | None):
        self.path, self.every, self.last = path, checkpoint_every(), time.monotonic()

    def due(self) -> bool:
        return self.path is not None and time.monotonic() - self.last >= self.every

    def saved(self) -> None:
        self.last = time.monotonic()


def say_resumed(path: Path, epoch: int, total: int) -> None:
    if not os.environ.get("KDEDGE_QUIET"):
        print(f"resuming from epoch {epoch}/{total} ({path.parent})", file=sys.stderr, flush=True)
