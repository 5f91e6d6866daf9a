"""Checks on user data, in the spirit of scikit-learn's utils/validation: fail early, say what to fix."""

from __future__ import annotations

import numpy as np

from ..errors import DataError

LAYOUTS = {1: "vector", 2: "sequence", 3: "image"}


def check_inputs(x: np.ndarray, source: str) -> np.ndarray:
    """Return `x` as float32 of shape (N, D), (N, C, L) or (N, C, H, W), finite everywhere."""
    x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise DataError(f"{source}: inputs have dtype {x.dtype}; store them as a numeric array")
    if np.iscomplexobj(x):  # float32 would silently drop the imaginary part
        raise DataError(f"{source}: inputs are complex ({x.dtype}); store real numbers (e.g. real and imaginary parts)")
    if x.ndim - 1 not in LAYOUTS:
        raise DataError(f"{source}: inputs have shape {x.shape}; expected (N, D), (N, C, L) or (N, C, H, W)")
    if x.shape[0] == 0 or any(d == 0 for d in x.shape[1:]):
        raise DataError(f"{source}: inputs of shape {x.shape} are empty")
    x = x.astype(np.float32, copy=False)
    bad = ~np.isfinite(x)
    if bad.any():
        rows = np.unique(np.nonzero(bad.reshape(len(x), -1))[0])
        raise DataError(
            f"{source}: {bad.sum()} NaN/Inf values in {len(rows)} samples (first: row {rows[0]}); "
            "clean or drop them before use"
        )
    return x


def check_labels(y: np.ndarray, n_samples: int, source: str, n_classes: int | None = None) -> np.ndarray:
    """Return `y` as int64 labels in 0..K-1, one per sample."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"{source}: labels have shape {y.shape}; expected one integer label per sample")
    if len(y) != n_samples:
        raise DataError(f"{source}: {len(y)} labels for {n_samples} inputs; they must match one to one")
    if y.dtype.kind not in "biuf":  # complex, object, strings...
        raise DataError(f"{source}: labels have dtype {y.dtype}; store class indices 0..K-1")
    if np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
        raise DataError(f"{source}: {int((~np.isfinite(y)).sum())} labels are NaN/Inf; labels are class indices 0..K-1")
    if np.issubdtype(y.dtype, np.floating) and (np.abs(y).max() >= 2**53 or not np.all(y == np.round(y))):
        raise DataError(f"{source}: labels must be whole numbers 0..K-1, found non-integer values")
    y = y.astype(np.int64)
    if y.min() < 0:
        raise DataError(f"{source}: negative label {y.min()}; labels must be 0..K-1")
    if n_classes is not None and y.max() >= n_classes:
        raise DataError(f"{source}: label {y.max()} is outside 0..{n_classes - 1} ({n_classes} classes)")
    if n_classes is None and y.max() >= max(MAX_CLASSES, 10 * len(y)):
        raise DataError(
            f"{source}: label {y.max()} for {len(y)} samples; labels are class indices 0..K-1 (is this a "
            "regression target or an ID column?)"
        )
    return y


MAX_CLASSES = 100_000  # more classes than this (and than 10 per sample) is not a class index but an ID or a value


def check_class_names(names, n_classes: int, source: str) -> list[str]:
    if names is None:
        return [str(i) for i in range(n_classes)]
    names = [str(n) for n in np.asarray(names).tolist()]
    if len(names) < n_classes:
        raise DataError(f"{source}: {len(names)} class names for labels up to {n_classes - 1}; give one name per class")
    if len(set(names)) != len(names):
        raise DataError(f"{source}: class names repeat; each class needs its own name")
    return names


def labels_and_names(y, class_names, source: str) -> tuple[np.ndarray, list[str] | None]:
    """Labels given as class names (strings) become indices into their sorted names; numbers pass through.

    Sorted order keeps the mapping the same whatever order the samples come in.
    """
    y = np.asarray(y)
    if y.dtype.kind not in "US":
        return y, class_names
    if y.dtype.kind == "S":
        y = y.astype(str)
    names = sorted(set(y.tolist()))
    if class_names is not None:
        given = [str(n) for n in np.asarray(class_names).tolist()]
        unknown = sorted(set(names) - set(given))
        if unknown:
            raise DataError(f"{source}: label(s) {unknown[:5]} are not among the class names {given[:10]}")
        names = given
    index = {name: i for i, name in enumerate(names)}
    return np.asarray([index[v] for v in y.tolist()], dtype=np.int64), names
