"""Where data sets come from: built-in names and file readers, each registered by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import Dataset

# name -> loader(seed) for data sets that ship with kdedge
BUILTINS: dict[str, Callable[[int], Dataset]] = {}
# format name -> (suffixes it claims, reader(path, seed))
READERS: dict[str, tuple[tuple[str, ...], Callable[[Path, int], Dataset]]] = {}


def builtin(name: str):
    def register(fn):
        BUILTINS[name] = fn
        return fn

    return register


def reader(name: str, suffixes: tuple[str, ...]):
    def register(fn):
        READERS[name] = (suffixes, fn)
        return fn

    return register


@builtin("digits")
def load_digits(seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 digits (UCI), shipped as a 45 KB npz so that no download or sklearn is needed."""
    with np.load(Path(__file__).with_name("digits.npz"), allow_pickle=False) as f:
        x, y = f["x"].astype(np.float32), f["y"].astype(np.int64)
    return Dataset("digits", x, y, [str(i) for i in range(10)], seed=seed)


@reader("npz", (".npz",))
def read_npz(path: Path, seed: int = 0) -> Dataset:
    with open(path, "rb") as head:
        if head.read(4) != b"PK\x03\x04":  # np.load would otherwise take a non-zip file for a pickle
            raise DataError(f"{path}: not a valid .npz file (no zip header); save it with numpy.savez")
    try:
        f = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{path}: not a readable .npz without pickle ({exc}); save plain numeric arrays") from exc
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: not a valid .npz file ({exc})") from exc
    with f:
        missing = {"x", "y"} - set(f.files)
        if missing:
            raise DataError(
                f"{path}: missing array(s) {sorted(missing)}; an .npz needs 'x' and 'y' (and may have 'class_names')"
            )
        try:
            x, y = f["x"], f["y"]
            names = f["class_names"] if "class_names" in f.files else None
        except ValueError as exc:
            raise DataError(f"{path}: holds object arrays, which need pickle; store class_names as strings") from exc
    return Dataset(path.name, x, y, names, seed=seed)


def load_dataset(spec: str, seed: int = 0, fmt: str | None = None) -> Dataset:
    """A built-in name (`digits`) or a path to a file in a known format."""
    if fmt is None and spec in BUILTINS:
        return BUILTINS[spec](seed)
    path = Path(spec)
    if not path.exists():
        raise DataError(f"no data set named {spec!r}: not a built-in ({', '.join(sorted(BUILTINS))}) and no such file")
    if fmt is not None:
        if fmt not in READERS:
            raise DataError(f"unknown --format {fmt!r}; choose from {', '.join(sorted(READERS))}")
        return READERS[fmt][1](path, seed)
    for _name, (suffixes, read) in READERS.items():
        if any(str(path).endswith(s) for s in suffixes):
            return read(path, seed)
    raise DataError(f"{path}: cannot tell its format; use one of {', '.join(sorted(READERS))} or pass --format")
