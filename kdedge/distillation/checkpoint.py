"""Resumable training: the training loop's state saved beside the run being written, so the same command resumes.

A long training (a teacher on 60,000 images is tens of minutes) must survive a kill, a reboot or Ctrl-C. While
`fit_run` writes `runs/x`, the loop saves its whole state — weights, optimizer, schedule, the random streams, the
best-on-val weights and the history — to `runs/.x.resume/` every KDEDGE_CHECKPOINT_EVERY seconds (default 30) of
training; a run shorter than that writes nothing there. Run the same command again and it starts from the last
saved epoch; the result is the same as an uninterrupted run with the same seed (tested). A checkpoint only resumes
the run it was made for: its key is a hash of everything that decides the training (data fingerprint, family,
options, method, transfer set, teacher, seed) and it records the kdedge version that wrote it. Another command,
or another version, is refused in one line (rerun the first command to resume it, or add --overwrite to discard
the checkpoint): runs are never mixed and nothing is discarded silently. The folder is removed once the run is in
place.

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
def resumable(out: Path, key_parts: dict, enabled: bool = True, overwrite: bool = False) -> Iterator[None]:
    """Inside the block, `stage()` hands each training stage its checkpoint file in `.OUT.resume/` (made at the
    first save). On success the folder goes; on a failure it stays, for the same command to resume."""
    global _active
    from ..progress import release_held

    if not enabled:
        release_held()  # the job is accepted: what it chose can be said now
        yield
        return
    folder, key = resume_folder(out), run_key(key_parts)
    _check_resumable(folder, key, overwrite)
    release_held()
    _active = {"folder": folder, "stage": 0, "key": {"key": key, "version": _version(), "parts": key_parts}}
    try:
        yield
    finally:
        _active = None
    shutil.rmtree(folder, ignore_errors=True)  # reached only when the block succeeded


def _version() -> str:
    from .. import __version__

    return __version__


def _check_resumable(folder: Path, key: str, overwrite: bool) -> None:
    """A checkpoint of this very command (same key, same kdedge) resumes; any other is refused unless --overwrite,
    which discards it. A folder kdedge did not write (no key.json) is never removed."""
    from ..errors import RunError

    if not folder.exists():
        return
    if not (folder / KEY).is_file():
        if not any(folder.iterdir()):
            return
        raise RunError(
            f"{folder} exists and is not a kdedge checkpoint (no {KEY}); move it away or choose another --out"
        )
    try:
        recorded = json.loads((folder / KEY).read_text())
    except (OSError, ValueError):
        recorded = {}
    if recorded.get("key") == key and recorded.get("version") == _version():
        return
    if overwrite:
        shutil.rmtree(folder, ignore_errors=True)
        return
    if recorded.get("key") == key:
        why = f"was written by kdedge {recorded.get('version', 'unknown')} (this is {_version()})"
    else:
        why = "belongs to another command (other options, data, teacher or seed)"
    raise RunError(
        f"the checkpoint {folder} {why}; run that command again to resume it, or add --overwrite to discard it "
        "and start this one"
    )


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
    except Exception as exc:  # a checkpoint cut off by a crash mid-write cannot resume: start the stage again
        say(f"checkpoint {path} cannot be read ({type(exc).__name__}); this stage starts again from its first epoch")
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


def say(line: str) -> None:
    if not os.environ.get("KDEDGE_QUIET"):
        print(line, file=sys.stderr, flush=True)


def say_resumed(path: Path, epoch: int, total: int) -> None:
    say(f"resuming from epoch {epoch}/{total} ({path.parent})")
