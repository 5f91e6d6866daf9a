"""MNIST-style IDX files (`train-images-idx3-ubyte[.gz]` + `train-labels-idx1-ubyte[.gz]`).

`--data FOLDER` pairs every *images* file with its *labels* file and concatenates them (train + t10k; kdedge makes
its own split by --seed); `--data train-images-idx3-ubyte.gz` reads one pair. (N, H, W) images become (N, 1, H, W).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ...errors import DataError
from ..dataset import Dataset
from ..readers import reader

# IDX type byte -> big-endian dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
SUFFIXES = ("-ubyte", "-ubyte.gz")


def _is_idx(path: Path) -> bool:
    return path.is_file() and path.name.endswith(SUFFIXES)


def read_idx(path: Path) -> np.ndarray:
    """One IDX file as an array; DataError if the header is wrong or the payload is short (truncated)."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: truncated or damaged gzip file ({exc}); download it again") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES or raw[3] == 0:
        raise DataError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: header says {shape} values ({expected} bytes) but the file holds {len(raw) - header}; "
            "the file is truncated or damaged"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape)


def _labels_file(images: Path) -> Path:
    name = images.name.replace("images", "labels").replace("idx3", "idx1")
    if name == images.name:
        raise DataError(f"{images}: expected 'images' in the name, to find the matching labels file")
    for candidate in (
        images.with_name(name),
        images.with_name(name.removesuffix(".gz")),
        images.with_name(name + ".gz"),
    ):
        if candidate.is_file():
            return candidate
    raise DataError(f"{images}: no labels file {name} beside it")


def _image_files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if _is_idx(p) and "images" in p.name)
        if not found:
            raise DataError(f"{path}: no *images*-ubyte files in this folder")
        return found
    if "labels" in path.name:
        raise DataError(f"{path}: this is a labels file; pass the images file (or the folder)")
    return [path]


@reader("idx", SUFFIXES, detect=lambda p: p.is_dir() and any(_is_idx(f) for f in p.iterdir()))
def read_idx_pair(path: Path, seed: int = 0) -> Dataset:
    """MNIST IDX images + labels (*-ubyte, gzipped or not): a folder or an images file."""
    xs, ys = [], []
    for images in _image_files(path):
        x, labels_path = read_idx(images), _labels_file(images)
        y = read_idx(labels_path)
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(f"{labels_path}: {y.shape} labels for {len(x)} images in {images.name}")
        xs.append(x[:, None] if x.ndim == 3 else x)
        ys.append(y)
    shapes = {x.shape[1:] for x in xs}
    if len(shapes) > 1:
        raise DataError(f"{path}: image files differ in shape {sorted(shapes)}; read them one at a time")
    return Dataset(path.name, np.concatenate(xs).astype(np.float32), np.concatenate(ys), None, seed=seed)
