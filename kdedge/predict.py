"""Run an exported model on a file of inputs. numpy + onnxruntime only, so it runs on a board.

Inputs are raw, exactly as the training data stored them: every kdedge graph starts with its own input
normalization, so the `kdedge.normalization` metadata is informational (it records which statistics the graph
applies) and nothing here normalizes again.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zipfile import BadZipFile

import numpy as np

from .errors import DataError, RunError

# file suffix -> reader(path) returning the raw array in the file
INPUT_READERS: dict[str, Callable[[Path], np.ndarray]] = {}


def input_reader(*suffixes: str):
    def register(fn):
        for suffix in suffixes:
            INPUT_READERS[suffix] = fn
        return fn

    return register


@dataclass
class ModelInfo:
    path: Path
    sample_shape: tuple  # ints, or None for a dimension the model leaves free
    class_names: list[str] | None
    optimization: str
    metadata: dict[str, str]


def model_info(path) -> ModelInfo:
    """What the model's kdedge metadata says (class names, input shape), else what its graph declares."""
    from .measure import open_model

    path, meta, shape = open_model(path)
    shape = tuple(d if isinstance(d, int) else None for d in shape[1:])
    names = json.loads(meta["class_names"]) if "class_names" in meta else None
    return ModelInfo(path, shape, names, meta.get("graph_optimization", "all"), meta)


@input_reader(".npy")
def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npy of numbers ({exc})") from None


@input_reader(".npz")
def _read_npz(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f.files:
                raise DataError(f"{path}: no array 'x' (found {', '.join(f.files) or 'none'}); store the inputs as x")
            return f["x"]
    except (ValueError, OSError, EOFError, BadZipFile, zlib.error) as exc:  # the last two: a cut-off file
        raise DataError(f"{path}: not a readable .npz of numbers ({exc})") from None


@input_reader(".csv")
def _read_csv(path: Path) -> np.ndarray:
    """One sample per line, its values flattened in C order; a first line that is not numbers is a header."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            first = next(csv.reader(f), [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: not a text CSV ({type(exc).__name__}); give one sample per line as numbers") from None
    try:
        [float(v) for v in first]
        header = 0
    except ValueError:
        header = 1
    try:
        return np.loadtxt(path, delimiter=",", skiprows=header, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise DataError(f"{path}: not a CSV of numbers, one sample per line ({exc})") from None


def read_inputs(path, info: ModelInfo) -> np.ndarray:
    """The file's samples as float32 (N, *sample_shape), checked against the model's input shape."""
    return read_inputs_named(path, info)[0]


def read_inputs_named(path, info: ModelInfo) -> tuple[np.ndarray, list[str] | None]:
    """(samples, the image file of each sample or None): an array file, an image, or a folder of images."""
    from .data.formats.image_folder import IMAGE_SUFFIXES

    path = Path(path)
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return read_images(path, info)
    return _read_array_file(path, info), None


def read_images(path: Path, info: ModelInfo) -> tuple[np.ndarray, list[str]]:
    """One image, or every image under a folder (sorted, sub-folders included), decoded and resized as the image
    reader did for training: grayscale or RGB by the model's channels, bilinear to its height and width."""
    from .data.formats.image_folder import IMAGE_SUFFIXES, _pixels
    from .errors import require

    shape = info.sample_shape
    if len(shape) != 3 or None in shape or shape[0] not in (1, 3):
        raise DataError(
            f"{path}: images, but {info.path} takes inputs of shape (N, {', '.join(map(str, shape))}), not "
            "(N, C, H, W) with 1 or 3 channels; pass an array file (.npy, .npz, .csv)"
        )
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder or below")
    elif path.is_file():
        files = [path]
    else:
        raise DataError(f"{path}: no such image file")
    pil = require("PIL.Image", "train")
    channels, height, width = shape
    mode = "L" if channels == 1 else "RGB"
    x = np.stack([_pixels(pil, f, mode, height, width) for f in files]).astype(np.float32)
    names = [str(f.relative_to(path)) if path.is_dir() else f.name for f in files]
    return x, names


def _read_array_file(path: Path, info: ModelInfo) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"{path}: no such input file")
    if path.suffix.lower() not in INPUT_READERS:
        raise DataError(
            f"{path}: unknown input format; use one of {', '.join(sorted(INPUT_READERS))}, an image or a folder "
            "of images"
        )
    x = np.asarray(INPUT_READERS[path.suffix.lower()](path))
    if x.dtype.kind not in "biuf":  # complex too: float32 would drop the imaginary part
        raise DataError(f"{path}: holds {x.dtype} values; store numbers")
    x = _fit_shape(x, info, path)
    if len(x) == 0:
        raise DataError(f"{path}: holds no samples (shape {x.shape}); give one sample or more")
    bad = ~np.isfinite(x)
    if bad.any():
        rows = np.unique(np.nonzero(bad.reshape(len(x), -1))[0])
        raise DataError(f"{path}: NaN/Inf in {len(rows)} samples (first: row {rows[0]}); clean them before predicting")
    return x


def _fit_shape(x: np.ndarray, info: ModelInfo, path: Path) -> np.ndarray:
    shape = info.sample_shape
    want = "(N, " + ", ".join("?" if d is None else str(d) for d in shape) + ")"

    def matches(sample_shape) -> bool:
        return len(sample_shape) == len(shape) and all(
            d is None or d == s for d, s in zip(shape, sample_shape, strict=True)
        )

    if matches(x.shape[1:]):
        return x.astype(np.float32, copy=False)
    if matches(x.shape):  # one sample without the batch dimension
        return x[None].astype(np.float32, copy=False)
    size = int(np.prod(shape)) if None not in shape else None
    if x.ndim == 2 and size is not None and x.shape[1] == size:  # flattened rows (always the case for CSV)
        return x.reshape(len(x), *shape).astype(np.float32, copy=False)
    rows = f" or rows of {size} values" if size is not None else ""
    raise DataError(f"{path}: inputs of shape {x.shape}, but {info.path} expects {want}{rows}; reshape the data")


def predict(info: ModelInfo, x: np.ndarray, threads: int = 1, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(scores (N, K), labels (N,)). Graphs without a `label` output get the argmax of their first output."""
    from .measure.latency import make_session

    session = make_session(str(info.path), threads, optimization=info.optimization)
    name = session.get_inputs()[0].name
    outputs = [o.name for o in session.get_outputs()]
    wanted = ["scores", "label"] if {"scores", "label"} <= set(outputs) else outputs[:1]
    scores, labels = [], []
    for i in range(0, len(x), batch_size):
        got = session.run(wanted, {name: np.ascontiguousarray(x[i : i + batch_size])})
        scores.append(np.asarray(got[0], np.float32).reshape(len(x[i : i + batch_size]), -1))
        labels.append(np.asarray(got[1]) if len(got) > 1 else scores[-1].argmax(1))
    scores_all, labels_all = np.concatenate(scores), np.concatenate(labels).astype(np.int64)
    if info.class_names is not None and scores_all.shape[1] != len(info.class_names):
        raise RunError(
            f"{info.path}: gives {scores_all.shape[1]} scores per sample but its metadata names "
            f"{len(info.class_names)} classes; re-export the model"
        )
    return scores_all, labels_all


def class_names(info: ModelInfo, n_classes: int) -> list[str]:
    return info.class_names if info.class_names is not None else [str(i) for i in range(n_classes)]


def probabilities(info: ModelInfo, scores: np.ndarray) -> np.ndarray:
    """softmax(scores), for graphs whose scores are logits; other students' scores only rank the classes."""
    from .errors import OptionError

    kind = info.metadata.get("scores", "logits")
    if kind != "logits":
        family = info.metadata.get("family", "this")
        raise OptionError(
            f"{info.path}: a {family} student's scores are {kind} outputs that rank the classes but are not "
            "probabilities; --proba needs a neural model (scores = logits), drop it to get the scores"
        )
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def to_csv(
    scores: np.ndarray, labels: np.ndarray, names: list[str], files: list[str] | None = None, prefix: str = "score"
) -> str:
    """row, (file,) label, class, then one column per class (`score_<class>`, or `proba_<class>`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["row", *(["file"] if files else []), "label", "class", *(f"{prefix}_{n}" for n in names)])
    for i, (label, row) in enumerate(zip(labels, scores, strict=True)):
        file = [files[i]] if files else []
        writer.writerow([i, *file, int(label), names[int(label)], *(f"{v:.6g}" for v in row)])
    return out.getvalue()


def to_json(
    info: ModelInfo,
    scores: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    files: list[str] | None = None,
    proba: np.ndarray | None = None,
) -> dict:
    predictions = []
    for i, (label, row) in enumerate(zip(labels, scores, strict=True)):
        one = {"row": i, "label": int(label), "class": names[int(label)], "scores": [float(v) for v in row]}
        if files:
            one["file"] = files[i]
        if proba is not None:
            one["probabilities"] = [float(v) for v in proba[i]]
        predictions.append(one)
    return {"model": str(info.path), "samples": int(len(labels)), "class_names": names, "predictions": predictions}
