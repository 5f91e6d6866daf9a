"""The Dataset every command shares: fixed train/val/test splits, layout, class names and normalization."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from .ondisk import iter_row_chunks
from .validation import LAYOUTS, check_class_names, check_inputs, check_labels

TEST_FRACTION = 0.30
VAL_FRACTION = 0.15  # of what remains after the test split


def fingerprint_arrays(*arrays: np.ndarray) -> str:
    """sha256 of dtypes, shapes and bytes, hashed in row chunks: a memory-mapped array is never copied whole."""
    digest = hashlib.sha256()
    for a in arrays:
        if not hasattr(a, "shape"):
            a = np.asarray(a)
        digest.update(str((np.dtype(a.dtype).str, tuple(a.shape))).encode())
        if a.ndim == 0:
            digest.update(np.ascontiguousarray(a).tobytes())
            continue
        for _, chunk in iter_row_chunks(a):
            digest.update(memoryview(chunk).cast("B"))
    return digest.hexdigest()[:16]


def stratified_split(y: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held_out): each class contributes round(fraction * n_c) samples to held_out.

    Written with numpy so that data loading, and with it `kdedge bench`, needs no scikit-learn.
    """
    kept, held = [], []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_held = int(round(fraction * len(idx)))
        n_held = min(max(n_held, 1), len(idx) - 1)
        held.append(idx[:n_held])
        kept.append(idx[n_held:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))


def split_indices(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The train / val / test row indices every data set without fixed splits gets: stratified, by `seed`."""
    rng = np.random.default_rng(seed)
    rest, test_idx = stratified_split(y, TEST_FRACTION, rng)
    train_pos, val_pos = stratified_split(y[rest], VAL_FRACTION, rng)
    return rest[train_pos], rest[val_pos], test_idx


@dataclass
class Normalization:
    """Per-channel (images, sequences) or per-feature (vectors) mean and std, from the train split."""

    mean: np.ndarray  # broadcastable to one sample
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Normalization:
        axes = (0,) + tuple(range(2, x.ndim)) if x.ndim > 2 else (0,)
        mean = x.mean(axis=axes, keepdims=True)[0]
        std = x.std(axis=axes, keepdims=True)[0]
        # Constant channels (a digit's blank border pixel) would divide by zero.
        std = np.where(std < 1e-6, 1.0, std)
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def to_dict(self) -> dict:
        return {"mean": self.mean.ravel().tolist(), "std": self.std.ravel().tolist(), "shape": list(self.mean.shape)}

    @classmethod
    def from_dict(cls, d: dict) -> Normalization:
        shape = tuple(d["shape"])
        return cls(np.asarray(d["mean"], np.float32).reshape(shape), np.asarray(d["std"], np.float32).reshape(shape))

    def apply(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(np.float32)


@dataclass
class Dataset:
    """A labelled data set split once, reproducibly, into train / val / test.

    Model selection and early stopping see only train and val; test is for the final figures.
    """

    name: str
    x: np.ndarray  # all samples, float32, (N, *sample_shape)
    y: np.ndarray  # int64 labels 0..K-1
    class_names: list[str]
    seed: int = 0
    train_idx: np.ndarray = field(init=False, repr=False)
    val_idx: np.ndarray = field(init=False, repr=False)
    test_idx: np.ndarray = field(init=False, repr=False)
    # How `load_dataset` made it (source, format, reader options), so a run can load the same data again.
    origin: dict = field(default_factory=dict, repr=False, compare=False)
    # Row indices per split when the data set fixes them itself (digits-shift: canvases of one source image
    # stay in one split); None: a stratified random split by `seed`.
    fixed_splits: dict[str, np.ndarray] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        self.x = check_inputs(self.x, self.name)
        self.y = check_labels(self.y, len(self.x), self.name)  # whole, finite, of sane range: then K is safe to use
        self.class_names = check_class_names(self.class_names, int(np.max(self.y)) + 1, self.name)
        if len(self.class_names) < 2:
            raise DataError(
                f"{self.name}: every label is {self.class_names[0]!r}; a classifier needs two classes or more"
            )
        counts = np.bincount(self.y, minlength=self.n_classes)
        if counts.min() < 3:
            rare = int(np.argmin(counts))
            raise DataError(
                f"{self.name}: class {self.class_names[rare]!r} has {counts[rare]} samples; "
                "each class needs at least 3 to appear in train, val and test"
            )
        if self.fixed_splits is not None:
            self.train_idx, self.val_idx, self.test_idx = (
                np.asarray(self.fixed_splits[s], np.int64) for s in ("train", "val", "test")
            )
        else:
            self.train_idx, self.val_idx, self.test_idx = split_indices(self.y, self.seed)
        self.normalization = Normalization.fit(self.x[self.train_idx])

    # -- shape --
    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    @property
    def layout(self) -> str:
        return LAYOUTS[len(self.sample_shape)]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    # -- splits --
    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        idx = {"train": self.train_idx, "val": self.val_idx, "test": self.test_idx}[name]
        return self.x[idx], self.y[idx]

    @property
    def fingerprint(self) -> str:
        """Identifies the samples *and* the split, so a run can tell whether its test split is this one."""
        return fingerprint_arrays(self.x, self.y, np.asarray([self.seed]))

    def describe(self) -> dict:
        return {
            "name": self.name,
            "fingerprint": self.fingerprint,
            "seed": self.seed,
            "sample_shape": list(self.sample_shape),
            "layout": self.layout,
            "n_classes": self.n_classes,
            "class_names": self.class_names,
            "sizes": {"train": len(self.train_idx), "val": len(self.val_idx), "test": len(self.test_idx)},
        }

    def check_compatible(self, sample_shape, n_classes: int, what: str) -> None:
        """Raise if a model built for `sample_shape` / `n_classes` cannot run on this data."""
        if tuple(sample_shape) != self.sample_shape:
            raise DataError(
                f"{what} expects inputs of shape {tuple(sample_shape)} but {self.name} has {self.sample_shape}; "
                "use data of the same shape"
            )
        if n_classes != self.n_classes:
            raise DataError(
                f"{what} has {n_classes} classes but {self.name} has {self.n_classes}; use data with the same classes"
            )
