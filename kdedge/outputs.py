"""Where kdedge may write: the one check behind every `--out`, `--json`, `--csv` and `--overwrite`, and the lock that
keeps two commands from writing one folder at once.

Rules (`ARCHITECTURE.md`: nothing the user made is replaced or deleted without `--overwrite`):
- an existing output is refused unless `--overwrite`;
- `--overwrite` replaces only what kdedge made: a folder holding a kdedge record (run, recipe output, sweep, search)
  or an empty one; a file whose content kdedge wrote (`signature`); never the folder you are in or one above it;
- a file inside a kdedge folder (a run's manifest, weights, graph...) is never replaced by another command's output.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import RunError

# The record file each kind of kdedge folder holds (runs.MANIFEST, recipes.loader.RECORD, sweep.PLAN,
# budget_search.study.CONFIG; named here so that checking an output imports none of them): "made by kdedge".
FOLDER_RECORDS = ("kdedge.json", "recipe.json", "sweep.json", "search.json")


def kdedge_folder(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in FOLDER_RECORDS)


def check_out_dir(target, overwrite: bool, made_by_kdedge: Callable[[Path], bool] = kdedge_folder) -> None:
    """Refuse to create folder `target` over anything but (with `overwrite`) an empty or kdedge-made folder
    (`made_by_kdedge` tells; a folder inside a run, such as RUN/c/, knows its own files)."""
    target = Path(target)
    if not target.exists():
        return
    if not overwrite:
        raise RunError(f"{target} already exists; choose another --out or pass --overwrite")
    if not target.is_dir():
        raise RunError(f"{target} is a file, not a kdedge folder; refusing to replace it, choose another --out")
    here, resolved = Path.cwd().resolve(), target.resolve()
    if resolved == here or resolved in here.parents or resolved == Path.home().resolve():
        raise RunError(
            f"{target} is the folder you are in, one above it or your home folder; refusing to replace it, choose "
            "a subfolder"
        )
    if not made_by_kdedge(target) and any(target.iterdir()):
        raise RunError(
            f"{target} is not a kdedge folder (no {' / '.join(FOLDER_RECORDS)}); refusing to replace it with "
            "--overwrite: remove it yourself or choose another --out"
        )


def check_not_input(target, inputs, option: str) -> None:
    """Refuse an output folder that is, or holds, one of the command's inputs (`option` names them): replacing it
    would destroy what the command reads (a student written over its own teacher)."""
    resolved = Path(target).resolve()
    for given in inputs:
        path = Path(given).resolve()
        if path == resolved or resolved in path.parents:
            raise RunError(f"--out {target} is, or holds, the {option} {given}; write the output elsewhere")


# What the first bytes of each kind of file kdedge writes look like: how `--overwrite` knows it made the file.
def _json_with(*keys: str) -> Callable[[bytes], bool]:
    def check(data: bytes) -> bool:
        try:
            value = json.loads(data)
        except ValueError:
            return False
        return isinstance(value, dict) and all(k in value for k in keys)

    return check


SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "bench-json": _json_with("rows"),
    "bench-csv": lambda data: data.startswith(b"name,kind,"),
    "predictions-csv": lambda data: data.startswith(b"row,label,class"),
    "report-html": lambda data: data.startswith(b"<!doctype html>") and b"<title>kdedge report" in data[:4096],
}


def check_out_file(target, overwrite: bool, kind: str, option: str = "--out") -> None:
    """Refuse to write file `target` (of `kind`, see SIGNATURES) over a folder, a file inside a kdedge folder, or
    (without `overwrite`, or when kdedge did not write it) an existing file."""
    target = Path(target)
    _refuse_file_in_path(target, option)
    if target.is_dir():
        raise RunError(f"{option} {target} is a folder; give a file path, e.g. {target / ('out' + target.suffix)}")
    if kdedge_folder(target.parent) and (target.exists() or target.name in _RUN_FILES):
        raise RunError(
            f"{option} {target} would replace a file of the kdedge folder {target.parent}; write it elsewhere"
        )
    if target.parent.name == "devices" and kdedge_folder(target.parent.parent):  # boards' figures (bench --on)
        raise RunError(
            f"{option} {target} is in the board figures of the kdedge folder {target.parent.parent}; write it elsewhere"
        )
    if not target.exists():
        return
    if not overwrite:
        raise RunError(f"{option} {target} already exists; choose another path or pass --overwrite")
    try:
        made_by_kdedge = SIGNATURES[kind](target.read_bytes())
    except OSError:
        made_by_kdedge = False
    if not made_by_kdedge:
        raise RunError(
            f"{option} {target} was not written by kdedge; refusing to replace it even with --overwrite, "
            "choose another path"
        )


_RUN_FILES = frozenset({*FOLDER_RECORDS, "model.onnx", "model.int8.onnx", "metrics.json", "done.json", "bench.json"})


# -- one writer per folder ------------------------------------------------------------------------------------------

_held = threading.local()  # per thread: folder -> depth, so a command may re-enter its own lock (run -> fit_run)


def _lock_paths(folder: Path) -> tuple[Path, Path]:
    folder = Path(os.path.abspath(folder))
    return folder.parent / f".{folder.name}.lock", folder.parent / f".{folder.name}.lock.pid"


@contextlib.contextmanager
def writing(folder) -> Iterator[None]:
    """Hold the write lock of `folder` (a run, recipe, sweep or search folder) for the block.

    A second writer, in another process or thread, fails at once with one line naming the folder and the process
    holding it. The lock is a file beside the folder (`.NAME.lock`, removed after), so it survives the folder being
    swapped in.
    Under the lock, `.partial` leftovers of a killed command on the same folder are removed."""
    from filelock import FileLock, Timeout

    key = os.path.abspath(folder)
    depth = getattr(_held, "depth", None)
    if depth is None:
        depth = _held.depth = {}
    if depth.get(key):
        depth[key] += 1
        try:
            yield
        finally:
            depth[key] -= 1
        return
    lock_path, pid_path = _lock_paths(Path(key))
    _refuse_file_in_path(Path(folder))
    created = [p for p in reversed(lock_path.parents) if not p.exists()]  # removed again if left empty
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunError(
            f"{folder} is being written by another kdedge command ({_holder(pid_path)}); wait for it to finish, "
            "or choose another --out"
        ) from None
    depth[key] = 1
    try:
        pid_path.write_text(f"{os.getpid()}\n")
        _remove_leftovers(Path(key))
        yield
    finally:
        depth.pop(key, None)
        pid_path.unlink(missing_ok=True)
        lock_path.unlink(missing_ok=True)  # no litter; filelock re-checks the inode, so a waiter retries cleanly
        lock.release()
        for parent in reversed(created):  # a command that failed before writing leaves no empty folders
            with contextlib.suppress(OSError):
                parent.rmdir()


def _refuse_file_in_path(path: Path, option: str = "--out") -> None:
    """Nothing can be made under a file: say which part of the path is the file (mkdir would only say 'exists')."""
    for part in Path(os.path.abspath(path)).parents:
        if part.exists():
            if not part.is_dir():
                raise RunError(f"{path}: {part} is a file, not a folder; choose an {option} whose parents are folders")
            return


@contextlib.contextmanager
def claiming(*files) -> Iterator[None]:
    """Hold the write lock of each output file given (None skipped) from the check to the write: a second command
    writing the same --out / --csv fails at once, rather than both succeeding and one result replacing the other."""
    with contextlib.ExitStack() as stack:
        for path in files:
            if path is not None:
                stack.enter_context(writing(path))
        yield


def writes_out(fn):
    """Run `fn(..., out=FOLDER, ...)` holding FOLDER's write lock, from its first line to its last."""

    @functools.wraps(fn)
    def wrapper(*args, out, **kwargs):
        with writing(out):
            return fn(*args, out=out, **kwargs)

    return wrapper


def _holder(pid_path: Path) -> str:
    try:
        return f"pid {int(pid_path.read_text())}"
    except (OSError, ValueError):
        return "pid unknown"


def _remove_leftovers(folder: Path) -> None:
    """What only a killed writer of `folder` can have left: temporary siblings (`.NAME.*.partial`, `.NAME.*.old`
    from `atomic_dir`) and temporary files inside it (`.model.onnx.*.partial` from `atomic_path`)."""
    name = glob.escape(folder.name)
    patterns = [f"{name}/.*.????????.partial"] if folder.is_dir() else []
    patterns += [f".{name}.????????.partial", f".{name}.????????.old"]  # tempfile's 8-character names
    for pattern in patterns:
        for stale in folder.parent.glob(pattern):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
