"""Teacher loaders, registered by the kind of file (or folder) they read; `load_teacher` picks one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import OptionError, RunError


@dataclass(frozen=True)
class TeacherKind:
    name: str
    load: Callable[[Path, str | None], object]  # load(path, factory) -> a Teacher
    suffixes: tuple[str, ...] = ()
    directory: bool = False  # reads a folder (a kdedge run), not a file
    needs_factory: bool = False  # weights only: --factory builds the module they fit
    summary: str = ""

    def claims(self, path: Path) -> bool:
        if self.directory:
            return path.is_dir()
        return path.is_file() and path.name.lower().endswith(self.suffixes)


TEACHER_KINDS: dict[str, TeacherKind] = {}


def teacher_kind(name: str, suffixes: tuple[str, ...] = (), directory: bool = False, needs_factory: bool = False):
    def register(load):
        summary = (load.__doc__ or "").strip().splitlines()[0] if load.__doc__ else ""
        TEACHER_KINDS[name] = TeacherKind(name, load, tuple(suffixes), directory, needs_factory, summary)
        return load

    return register


def _accepted() -> str:
    parts = []
    for kind in TEACHER_KINDS.values():
        what = "a run directory" if kind.directory else "/".join(kind.suffixes)
        parts.append(what + (" with --factory" if kind.needs_factory else ""))
    return "; ".join(parts)


def resolve_kind(path: Path, factory: str | None) -> TeacherKind:
    if not path.exists():
        raise RunError(f"{path}: no such teacher; pass {_accepted()}")
    claimed = [k for k in TEACHER_KINDS.values() if k.claims(path)]
    for kind in claimed:
        if kind.needs_factory == (factory is not None):
            return kind
    if claimed and factory is None:
        raise OptionError(
            f"{path} holds weights only; pass --factory package.module:build_fn (or file.py:build_fn) naming a "
            "function that builds the model those weights belong to"
        )
    if claimed:
        weights = [s for k in TEACHER_KINDS.values() if k.needs_factory for s in k.suffixes]
        raise OptionError(f"--factory applies to weights files ({', '.join(weights)}), not to {path}")
    raise OptionError(f"{path}: not a teacher kdedge can load; pass {_accepted()}")
