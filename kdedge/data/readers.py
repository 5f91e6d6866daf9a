"""Where data sets come from: built-in names and file readers, each registered by name.

`load_dataset(spec, seed, fmt, **options)` picks a reader by `fmt`, else by the path's suffix, else by asking each
reader whether it recognises the path (folders, suffix-less CIFAR batches). Readers declare the options they take
(label column, image size...); an option a reader does not take is refused with the list of those it does.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

import numpy as np

from ..errors import DataError, KdedgeError, OptionError
from .dataset import Dataset
from .validation import labels_and_names


@dataclass(frozen=True)
class ReaderOption:
    """One reader option: `parse` turns what the CLI or a manifest gives into the value, or raises ValueError."""

    parse: Callable[[Any], Any]
    help: str
    flag: bool = False  # a yes/no option: --name/--no-name on the command line


# name -> loader(seed, **options) for data sets that ship with kdedge, and the options each takes
BUILTINS: dict[str, Callable[..., Dataset]] = {}
BUILTIN_OPTIONS: dict[str, dict[str, ReaderOption]] = {}


@dataclass(frozen=True)
class Reader:
    name: str
    read: Callable[..., Dataset]  # read(path, seed, **options)
    suffixes: tuple[str, ...] = ()
    detect: Callable[[Path], bool] | None = None  # for paths a suffix cannot identify (folders, CIFAR batches)
    options: dict[str, ReaderOption] = field(default_factory=dict)
    pairs: bool = False  # accepts `a,b` (two files, e.g. x.npy,y.npy)

    @property
    def summary(self) -> str:
        return (self.read.__doc__ or "").strip().splitlines()[0] if self.read.__doc__ else ""


READERS: dict[str, Reader] = {}


def builtin(name: str, options: dict[str, ReaderOption] | None = None):
    def register(fn):
        if name in BUILTINS:
            raise ValueError(f"built-in data set {name!r} is registered twice")
        BUILTINS[name] = fn
        BUILTIN_OPTIONS[name] = dict(options or {})
        return fn

    return register


def reader(
    name: str,
    suffixes: tuple[str, ...] = (),
    detect: Callable[[Path], bool] | None = None,
    options: dict[str, ReaderOption] | None = None,
    pairs: bool = False,
):
    def register(fn):
        if name in READERS:
            raise ValueError(f"data reader {name!r} is registered twice")
        READERS[name] = Reader(name, fn, tuple(suffixes), detect, dict(options or {}), pairs)
        return fn

    return register


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    with np.load(Path(__file__).with_name("digits.npz"), allow_pickle=False) as f:
        return f["x"].astype(np.float32), f["y"].astype(np.int64)


@builtin("digits")
def load_digits(seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 digits (UCI), shipped as a 45 KB npz so that no download or sklearn is needed."""
    x, y = _digits_arrays()
    return Dataset("digits", x, y, [str(i) for i in range(10)], seed=seed)


def _bounded_int(low: int, high: int):
    def parse(value) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be a whole number between {low} and {high}") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return parse


def _noise(value) -> float:
    number = float(value)
    if not 0 <= number < 100:  # also refuses NaN
        raise ValueError("must be a finite number >= 0 (std on the digits' 0-16 pixel scale)")
    return number


@builtin(
    "digits-shift",
    options={
        "samples": ReaderOption(_bounded_int(100, 5_000_000), "training canvases (val: 20 %, test: 30 % as many)"),
        "canvas": ReaderOption(_bounded_int(8, 256), "canvas side in pixels (digits are 8x8)"),
        "pixel_noise": ReaderOption(_noise, "Gaussian noise std on the 0-16 pixel scale"),
    },
)
def load_digits_shift(seed: int = 0, samples: int = 10_000, canvas: int = 16, pixel_noise: float = 1.0) -> Dataset:
    """digits at random positions on a 16x16 canvas with noise; canvases of a source digit stay in one split."""
    from .shifted import make_digits_shift

    x, y = _digits_arrays()
    return make_digits_shift(x, y, seed, samples=samples, canvas=canvas, noise=pixel_noise)


@reader("npz", (".npz",))
def read_npz(path: Path, seed: int = 0) -> Dataset:
    """numpy .npz with arrays x, y (indices or class-name strings) and optional class_names."""
    with open(path, "rb") as head:
        if head.read(4) != b"PK\x03\x04":  # np.load would otherwise take a non-zip file for a pickle
            raise DataError(f"{path}: not a valid .npz file (no zip header); save it with numpy.savez")
    try:
        f = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{path}: not a readable .npz without pickle ({exc}); save plain numeric arrays") from exc
    except (OSError, EOFError, BadZipFile) as exc:
        raise DataError(f"{path}: not a valid .npz file ({exc}); write it again") from None
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
        except (OSError, EOFError, KeyError, BadZipFile, zlib.error) as exc:  # zlib/zip errors of a cut-off file
            raise DataError(f"{path}: truncated or damaged .npz ({exc}); write it again") from exc
    y, names = labels_and_names(y, names, path.name)
    return Dataset(path.name, x, y, names, seed=seed)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _parse_options(options: dict, allowed: dict[str, ReaderOption], what: str) -> dict:
    parsed = {}
    for key, value in options.items():
        if key not in allowed:
            listed = ", ".join(_flag(k) for k in allowed) or "none"
            raise OptionError(f"{_flag(key)} does not apply to {what} (its options: {listed})")
        try:
            parsed[key] = allowed[key].parse(value)
        except (TypeError, ValueError) as exc:
            raise OptionError(f"{_flag(key)}={value!r} for {what}: {exc}") from None
    return parsed


def _resolve_paths(spec: str) -> list[Path] | None:
    """The path(s) `spec` names, or None: one existing path, or `a,b` when every part exists."""
    if Path(spec).exists():
        return [Path(spec)]
    parts = [Path(p) for p in spec.split(",") if p]
    if len(parts) > 1 and all(p.exists() for p in parts):
        return parts
    return None


def _pick_reader(spec: str, paths: list[Path], fmt: str | None) -> Reader:
    if fmt is not None:
        if fmt not in READERS:
            raise DataError(f"unknown --format {fmt!r}; choose from {', '.join(sorted(READERS))}")
        return READERS[fmt]
    name = paths[0].name.lower()
    by_suffix = [r for r in READERS.values() if any(name.endswith(s) for s in r.suffixes)]
    if by_suffix:  # the longest claimed suffix wins (".idx3-ubyte.gz" over ".gz")
        return max(by_suffix, key=lambda r: max(len(s) for s in r.suffixes if name.endswith(s)))
    if paths[0].is_dir() and not any(paths[0].iterdir()):
        raise DataError(f"{spec}: empty folder; it holds no data files or class folders")
    for candidate in READERS.values():
        if candidate.detect is not None and candidate.detect(paths[0]):
            return candidate
    raise DataError(f"{spec}: cannot tell its format; pass --format with one of {', '.join(sorted(READERS))}")


def read_guarded(chosen: Reader, path: Path, seed: int, options: dict) -> Dataset:
    """`chosen.read`, with whatever its parsing libraries raise on a damaged or foreign file (a cut-off zip, an
    image whose header claims 30000x30000 pixels, bytes that are not UTF-8...) turned into one DataError."""
    try:
        return chosen.read(path, seed, **options)
    except (KdedgeError, MemoryError, KeyboardInterrupt, ModuleNotFoundError):
        raise
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise DataError(
            f"{path}: cannot read it as {chosen.name} data ({type(exc).__name__}: {first}); check the file, or pass "
            "the right --format"
        ) from None


def load_dataset(spec: str, seed: int = 0, fmt: str | None = None, **options) -> Dataset:
    """A built-in name (`digits`) or a path (`a,b` for a pair of files) in a known or given format.

    `options` are the reader's own (e.g. label_column for CSV, image_size for image folders); None means unset.
    The returned Dataset's `origin` records source, format and options, so the same call can be made again.
    """
    from ..params import check_seed
    from ..plugins import load_plugins

    check_seed(seed)  # the split draws from numpy, which refuses negative seeds
    load_plugins()
    options = {k: v for k, v in options.items() if v is not None}
    spec = str(spec)
    if fmt is None and spec in BUILTINS:
        parsed = _parse_options(options, BUILTIN_OPTIONS[spec], f"the built-in data set {spec!r}")
        dataset = BUILTINS[spec](seed, **parsed)
        dataset.origin = {"source": spec, "format": None, "options": parsed}
        return dataset
    paths = _resolve_paths(spec)
    if paths is None:
        raise DataError(f"no data set named {spec!r}: not a built-in ({', '.join(sorted(BUILTINS))}) and no such file")
    chosen = _pick_reader(spec, paths, fmt)
    if len(paths) > 1 and not chosen.pairs:
        raise DataError(f"{spec}: format {chosen.name} reads one path, not a comma-separated pair")
    parsed = _parse_options(options, chosen.options, f"--format {chosen.name}")
    source = ",".join(str(p.resolve()) for p in paths)
    dataset = read_guarded(chosen, Path(source), seed, parsed)
    dataset.origin = {"source": source, "format": chosen.name, "options": dict(options)}
    return dataset


# The format modules register themselves on import; they need `reader` defined above.
from . import formats  # noqa: E402,F401
