"""`digits-shift`: each 8×8 digit drawn at a random position on a larger canvas, with light noise.

A harder task built from the shipped digits, with no download. A CNN's translation invariance solves it; an MLP,
a forest or an SVM on raw pixels must learn every position separately, so hard labels leave them far behind and a
transfer set has to carry what the teacher knows about shifted digits. Canvases are made per split from that
split's source images only (the digits' own stratified split by `seed`), so no source image is in two splits.
"""

from __future__ import annotations

import numpy as np

from .dataset import Dataset, split_indices

DIGIT = 8  # side of a source digit
VAL_PER_TRAIN = 0.2  # canvases in val and test per training canvas
TEST_PER_TRAIN = 0.3


def canvases(digits, sources, n: int, canvas: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """`n` canvases (n, 1, canvas, canvas) and their source rows: digits taken in turn from a shuffled `sources`,
    each pasted at a uniformly random offset, plus Gaussian noise of std `noise` (on the digits' 0–16 scale)."""
    picks = rng.permutation(np.resize(rng.permutation(sources), n))
    offsets = rng.integers(0, canvas - DIGIT + 1, size=(n, 2))
    out = rng.normal(0.0, noise, size=(n, 1, canvas, canvas)).astype(np.float32)
    for row, (source, (top, left)) in enumerate(zip(picks, offsets, strict=True)):
        out[row, 0, top : top + DIGIT, left : left + DIGIT] += digits[source, 0]
    return out, picks


def make_digits_shift(
    digits: np.ndarray, labels: np.ndarray, seed: int, samples: int, canvas: int, noise: float
) -> Dataset:
    """The data set: `samples` training canvases, 20 % as many for val and 30 % for test."""
    train_src, val_src, test_src = split_indices(labels, seed)
    rng = np.random.default_rng([seed, 16])
    sizes = {"train": samples, "val": round(samples * VAL_PER_TRAIN), "test": round(samples * TEST_PER_TRAIN)}
    parts, ys, splits, start = [], [], {}, 0
    for split, sources in (("train", train_src), ("val", val_src), ("test", test_src)):
        x, picks = canvases(digits, sources, sizes[split], canvas, noise, rng)
        parts.append(x)
        ys.append(labels[picks])
        splits[split] = np.arange(start, start + len(x))
        start += len(x)
    return Dataset(
        "digits-shift",
        np.concatenate(parts),
        np.concatenate(ys),
        [str(i) for i in range(10)],
        seed=seed,
        fixed_splits=splits,
    )
