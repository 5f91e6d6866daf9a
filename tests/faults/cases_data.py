"""Data readers, met through `kdedge teacher train --data` (the first command a user points at their files): a
damaged or unsuitable data set is refused before any training."""

from __future__ import annotations

import numpy as np

from .kit import Case, image_folder, png, xy


def train(ws, data, *extra):
    return ["teacher", "train", "--arch", "mlp", "--epochs", 1, "--out", ws.root / "t", "--data", data, *extra]


def labelled(ws, x=None, y=None, name="d.npz"):
    x0, y0 = xy()
    return ws.npz(name, x=x0 if x is None else x, y=y0 if y is None else y)


def cifar(ws, content: bytes):
    return train(ws, ws.file("data_batch_1", content), "--format", "cifar")


def idx(ws, content: bytes):
    return train(ws, ws.file("x-idx3-ubyte", content), "--format", "idx")


def _nan_at_5(value):
    return np.where(np.arange(60) == 5, value, np.arange(60) % 3)


CASES = [
    # -- .npz / .npy ------------------------------------------------------------------------------------------------
    Case("missing-file", lambda ws: train(ws, ws.root / "nothing.npz"), "nothing.npz"),
    Case("unknown-builtin", lambda ws: train(ws, "digitz"), "digitz"),
    Case("npz-empty-file", lambda ws: train(ws, ws.file("d.npz", b"")), "not a valid .npz"),
    Case("npz-not-a-zip", lambda ws: train(ws, ws.file("d.npz", b"hello, not a zip" * 10)), "not a valid .npz"),
    Case("npz-truncated", lambda ws: train(ws, ws.truncate(labelled(ws, *xy(3000)), 0.6)), ".npz"),
    Case("npz-no-x", lambda ws: train(ws, ws.npz("d.npz", y=xy()[1])), "missing array(s) ['x']"),
    Case("npz-no-y", lambda ws: train(ws, ws.npz("d.npz", x=xy()[0])), "missing array(s) ['y']"),
    Case("npz-length-mismatch", lambda ws: train(ws, labelled(ws, y=xy()[1][:50])), "50 labels for 60 inputs"),
    Case("npz-object-arrays", lambda ws: train(ws, labelled(ws, x=np.array([{"a": 1}] * 60, dtype=object))), "pickle"),
    Case("npz-no-samples", lambda ws: train(ws, labelled(ws, x=np.zeros((0, 8)), y=np.zeros(0, int))), "empty"),
    Case("npz-strings", lambda ws: train(ws, labelled(ws, x=np.array([["a"] * 8] * 60))), "numeric"),
    Case("labels-nan", lambda ws: train(ws, labelled(ws, y=_nan_at_5(np.nan))), "NaN/Inf"),
    Case("labels-inf", lambda ws: train(ws, labelled(ws, y=_nan_at_5(np.inf))), "NaN/Inf"),
    Case("labels-huge", lambda ws: train(ws, labelled(ws, y=_nan_at_5(2**40))), "class indices"),
    Case("labels-negative", lambda ws: train(ws, labelled(ws, y=_nan_at_5(-1))), "negative label"),
    Case("labels-fractional", lambda ws: train(ws, labelled(ws, y=_nan_at_5(1.5))), "whole numbers"),
    Case("labels-2d", lambda ws: train(ws, labelled(ws, y=np.zeros((60, 2), int))), "one integer label per sample"),
    Case("one-class", lambda ws: train(ws, labelled(ws, y=np.zeros(60, np.int64))), "two classes"),
    Case("complex-x", lambda ws: train(ws, labelled(ws, x=xy()[0] * (1 + 1j))), "complex"),
    Case("x-nan", lambda ws: train(ws, labelled(ws, x=np.full((60, 8), np.nan, np.float32))), "NaN/Inf values"),
    Case("x-1d", lambda ws: train(ws, labelled(ws, x=np.arange(60.0))), "expected (N, D)"),
    Case(
        "npy-pickled",
        lambda ws: train(ws, ws.npy("x.npy", np.array([{}] * 4, object), allow_pickle=True)),
        "without pickle",
    ),
    Case("npy-pair-one-missing", lambda ws: train(ws, f"{ws.npy('x.npy', xy()[0])},{ws.root / 'y.npy'}"), "y.npy"),
    Case("format-bogus", lambda ws: train(ws, labelled(ws), "--format", "parquet"), "parquet"),
    Case("format-csv-on-npz", lambda ws: train(ws, labelled(ws), "--format", "csv"), "UTF-8"),
    Case("option-of-another-reader", lambda ws: train(ws, labelled(ws), "--image-size", 8), "--image-size"),
    # -- .csv -------------------------------------------------------------------------------------------------------
    Case("csv-empty", lambda ws: train(ws, ws.file("d.csv", "")), "no rows"),
    Case("csv-header-only", lambda ws: train(ws, ws.file("d.csv", "a,b,label\n")), "no data rows"),
    Case("csv-text-cell", lambda ws: train(ws, ws.file("d.csv", "a,b,label\n1,2,0\nx,3,1\n" * 20)), "not a number"),
    Case("csv-ragged", lambda ws: train(ws, ws.file("d.csv", "a,b,label\n1,2,0\n1,1\n" * 20)), "ragged"),
    Case("csv-binary", lambda ws: train(ws, ws.file("d.csv", bytes(range(256)) * 4)), "UTF-8"),
    Case(
        "csv-label-column-unknown",
        lambda ws: train(ws, ws.file("d.csv", "a,b,label\n1,2,0\n3,4,1\n" * 20), "--label-column", "klass"),
        "klass",
    ),
    Case(
        "csv-label-column-out-of-range",
        lambda ws: train(ws, ws.file("d.csv", "1,2,0\n3,4,1\n" * 20), "--no-header", "--label-column", 9),
        "9",
    ),
    # -- image folders, CIFAR, IDX ----------------------------------------------------------------------------------
    Case("images-empty-folder", lambda ws: train(ws, ws.folder("img")), "empty folder"),
    Case("images-one-class", lambda ws: train(ws, image_folder(ws, classes=("a",))), "two classes"),
    Case(
        "images-not-an-image",
        lambda ws: train(ws, image_folder(ws, extra={"b/9.png": b"not a png"})),
        "not a readable image",
    ),
    Case(
        "images-bomb",
        lambda ws: train(ws, image_folder(ws, extra={"b/3.png": png(30000, 30000)})),
        "3.png: refused to decode",
    ),
    Case("images-size-text", lambda ws: train(ws, image_folder(ws), "--image-size", "big"), "--image-size"),
    Case("images-size-0", lambda ws: train(ws, image_folder(ws), "--image-size", 0), "--image-size"),
    Case("images-channels-2", lambda ws: train(ws, image_folder(ws), "--image-channels", 2), "--image-channels"),
    Case("cifar-not-a-pickle", lambda ws: cifar(ws, b"\x80\x04junk" * 50), "damaged pickle"),
    Case("cifar-code-in-pickle", lambda ws: cifar(ws, b"cos\nsystem\n(S'true'\ntR."), "refused to unpickle"),
    Case("idx-truncated", lambda ws: idx(ws, b"\x00\x00\x08\x03\x00\x00\x00\x10" + b"\x00" * 12), "truncated"),
    Case("idx-bad-magic", lambda ws: idx(ws, b"\x01\x02\x03\x04" + b"\x00" * 12), "x-idx3-ubyte"),
    # -- built-in data options --------------------------------------------------------------------------------------
    Case("shift-samples-0", lambda ws: train(ws, "digits-shift", "--samples", 0), "--samples"),
    Case("shift-canvas-small", lambda ws: train(ws, "digits-shift", "--canvas", 4), "--canvas"),
    Case("shift-noise-negative", lambda ws: train(ws, "digits-shift", "--pixel-noise", -1), "--pixel-noise"),
    Case("digits-image-size", lambda ws: train(ws, "digits", "--image-size", 8), "--image-size"),
]
