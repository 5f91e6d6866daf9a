"""CIFAR-10 / CIFAR-100 "python version" batches, read with a restricted unpickler (never plain pickle.load).

`--data cifar-10-batches-py/` reads every data_batch_* and test_batch (kdedge then makes its own train/val/test
split by --seed); `--data .../data_batch_1` reads one batch. Class names come from batches.meta (CIFAR-10) or meta
(CIFAR-100) beside the batches. CIFAR-100 uses its fine labels unless `--label-column coarse_labels`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import DataError
from ..dataset import Dataset
from ..readers import ReaderOption, reader
from .safe_pickle import load_restricted

BATCH_NAMES = ("test_batch", "train", "test")  # plus data_batch_<n>
META_FILES = ("batches.meta", "meta")
LABEL_KEYS = {"labels": "label_names", "fine_labels": "fine_label_names", "coarse_labels": "coarse_label_names"}
PICKLE_PROTO = b"\x80"


def _is_batch_file(path: Path) -> bool:
    if not path.is_file() or not (path.name.startswith("data_batch_") or path.name in BATCH_NAMES):
        return False
    with open(path, "rb") as f:
        return f.read(1) == PICKLE_PROTO


def _batch_files(folder: Path) -> list[Path]:
    found = sorted(p for p in folder.iterdir() if p.name.startswith("data_batch_") and p.is_file())
    found += [folder / n for n in BATCH_NAMES if (folder / n).is_file()]
    return found


def looks_like_cifar(path: Path) -> bool:
    if path.is_dir():
        return any(_is_batch_file(p) for p in _batch_files(path))
    return _is_batch_file(path)


def parse_label_key(value) -> str:
    key = str(value)
    if key not in LABEL_KEYS:
        raise ValueError(f"CIFAR batches label by {', '.join(LABEL_KEYS)}")
    return key


def _unpickle(path: Path) -> dict:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    content = load_restricted(data, str(path))
    if not isinstance(content, dict):
        raise DataError(f"{path}: holds a {type(content).__name__}, not a CIFAR batch (a dict with data and labels)")
    # Python 2 pickles give str keys, Python 3 ones may give bytes.
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in content.items()}


def _batch(path: Path, label_key: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    batch = _unpickle(path)
    key = label_key or next((k for k in LABEL_KEYS if k in batch), None)
    if key is None or key not in batch or "data" not in batch:
        raise DataError(f"{path}: a CIFAR batch needs 'data' and one of {list(LABEL_KEYS)}; found {sorted(batch)[:8]}")
    data, labels = batch["data"], batch[key]
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] % 3:
        shape = getattr(data, "shape", type(data).__name__)
        raise DataError(f"{path}: 'data' is {shape}; CIFAR stores an (N, 3*H*W) uint8 array")
    side = int(round((data.shape[1] // 3) ** 0.5))
    if 3 * side * side != data.shape[1]:
        raise DataError(f"{path}: rows of {data.shape[1]} values are not 3 square colour planes")
    labels = np.asarray(labels)
    if labels.shape != (len(data),):
        raise DataError(f"{path}: {labels.shape} labels for {len(data)} images; they must match one to one")
    return data.reshape(len(data), 3, side, side), labels, key


def _class_names(folder: Path, key: str) -> list[str] | None:
    for name in META_FILES:
        meta_path = folder / name
        if meta_path.is_file():
            meta = _unpickle(meta_path)
            names = meta.get(LABEL_KEYS[key])
            if names is not None:
                return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names]
    return None


@reader(
    "cifar",
    detect=looks_like_cifar,
    options={"label_column": ReaderOption(parse_label_key, "labels (CIFAR-10), fine_labels or coarse_labels")},
)
def read_cifar(path: Path, seed: int = 0, label_column: str | None = None) -> Dataset:
    """CIFAR-10/100 python batches: a folder of data_batch_*/test_batch, or one batch file."""
    files = _batch_files(path) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{path}: no CIFAR batches (data_batch_*, test_batch, train, test) in this folder")
    xs, ys, key = [], [], label_column
    for file in files:
        x, y, key = _batch(file, key)
        xs.append(x)
        ys.append(y)
    x = np.concatenate(xs).astype(np.float32)
    y = np.concatenate(ys)
    names = _class_names(path if path.is_dir() else path.parent, key)
    return Dataset(path.name, x, y, names, seed=seed)
