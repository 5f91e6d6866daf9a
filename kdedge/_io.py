"""Atomic writes: an interrupted command never leaves a half-written artifact."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it into place only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; artifacts are meant to be shared
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(target: str | os.PathLike, payload: Any) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=False, default=_json_default) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


def read_run_file(path: str | os.PathLike, what: str, remake: str) -> dict:
    """A JSON record a kdedge command wrote (a recipe output's recipe.json, a sweep.json...), read back: a missing,
    truncated or edited file is one RunError naming the file and how to make it again."""
    from .errors import RunError

    path = Path(path)
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:  # ValueError: bad JSON and bad UTF-8 alike
        raise RunError(f"{path}: cannot read this {what} record ({_first_line(exc)}); {remake}") from None
    if not isinstance(value, dict):
        raise RunError(f"{path}: not a {what} record (a JSON object); {remake}")
    return value


@contextlib.contextmanager
def reading(path: str | os.PathLike, what: str, remake: str) -> Iterator[None]:
    """Around a parser of a file kdedge wrote (weights, a graph): whatever the parser raises on a truncated or
    foreign file (each library has its own exception types) becomes one RunError naming the file and the fix."""
    from .errors import KdedgeError, RunError

    try:
        yield
    except (KdedgeError, ModuleNotFoundError, MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise RunError(f"{path}: cannot load this {what} ({_first_line(exc)}); {remake}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays turn up in metrics; JSON has no type for them.
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike, overwrite: bool = False, made_by_kdedge=None) -> Iterator[Path]:
    """Build a directory under a temporary name and swap it in at the end, holding the folder's write lock.

    An existing `target` is only replaced when `overwrite` is set and kdedge made it (`outputs.check_out_dir`, or
    `made_by_kdedge(path)` for a folder that holds no record of its own); it stays untouched if the block fails.
    """
    from .outputs import check_out_dir, kdedge_folder, writing

    target = Path(target)
    with writing(target):
        check_out_dir(target, overwrite, made_by_kdedge or kdedge_folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
        try:
            yield tmp
            os.chmod(tmp, 0o777 & ~_umask())
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
                os.replace(target, old / "run")
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
