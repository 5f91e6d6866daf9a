"""Teachers trained elsewhere (TorchScript, ONNX, weights + factory). They do not know the data set: `bind(dataset)`
runs a 2-sample forward pass, checks the output width against the data's classes (and the class names, when the
file carries them) and only then lets the teacher produce logits for distillation."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import DataError, RunError

PROBE = 256  # val samples used to check output kind and a sane accuracy


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _looks_like_probabilities(out: np.ndarray) -> bool:
    return bool(out.min() >= 0 and out.max() <= 1 and np.allclose(out.sum(axis=1), 1.0, atol=1e-3))


class ExternalTeacher:
    kind: ClassVar[str]
    runtime: ClassVar[str]
    has_features: ClassVar[bool] = False
    batch_size: int = 1024

    def __init__(self, path: Path, identity: str = ""):
        self.path = Path(path)
        self.name = str(path)
        self.sha256 = sha256_file(self.path)
        # The file's sha256 (what `sha256sum` prints); anything else that shapes the outputs is mixed in.
        self.fingerprint = (
            self.sha256 if not identity else hashlib.sha256(f"{self.sha256}|{identity}".encode()).hexdigest()
        )
        self.known_class_names: list[str] | None = None  # from the file, when it carries them
        self.sample_shape: tuple[int, ...] | None = None
        self.n_classes: int | None = None
        self.class_names: list[str] | None = None
        self.outputs = "logits"
        self.probe_accuracy: float | None = None

    # -- what each kind implements --
    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _check_input(self, dataset) -> None:
        """Raise DataError if the file declares an input shape the data does not have (ONNX does)."""

    def latency(self, samples: np.ndarray, threads: int = 1, **options) -> dict:
        raise NotImplementedError

    # -- shared --
    def _outputs(self, x: np.ndarray) -> np.ndarray:
        parts = [np.asarray(self._forward(x[i : i + self.batch_size])) for i in range(0, len(x), self.batch_size)]
        return np.concatenate(parts).astype(np.float32, copy=False)

    def bind(self, dataset, classes: bool = True):
        """Check this teacher against `dataset` (before any training) and adopt its shape and classes. With
        `classes=False` only the inputs must fit: a teacher of another task keeps its own output width."""
        self._check_input(dataset)
        x_val, y_val = dataset.split("val")
        shape = (2, *dataset.sample_shape)
        try:
            out = self._outputs(np.ascontiguousarray(x_val[:2], np.float32))
        except DataError:
            raise
        except Exception as exc:  # whatever the runtime raises for inputs it cannot take
            raise DataError(
                f"teacher {self.name} cannot run on inputs of shape {shape} from {dataset.name} "
                f"({_first_line(exc)}); give data in the layout the teacher was trained on"
            ) from None
        if out.ndim != 2 or out.shape[0] != 2:
            raise DataError(
                f"teacher {self.name} returned shape {tuple(out.shape)} for inputs {shape}; "
                "a teacher must return class scores of shape (N, K)"
            )
        names = self.known_class_names
        same_task = out.shape[1] == dataset.n_classes and (names is None or list(names) == list(dataset.class_names))
        if not classes and not same_task:
            self.sample_shape = tuple(dataset.sample_shape)
            self.n_classes = int(out.shape[1])
            self.class_names = list(names or (str(i) for i in range(self.n_classes)))
            return self  # its accuracy on these labels would mean nothing
        if out.shape[1] != dataset.n_classes:
            raise DataError(
                f"teacher {self.name} outputs {out.shape[1]} class scores but {dataset.name} has "
                f"{dataset.n_classes} classes; use data labelled with the teacher's classes"
            )
        if names is not None and list(names) != list(dataset.class_names):
            raise DataError(
                f"teacher {self.name} has classes {names[:5]}... but {dataset.name} has "
                f"{dataset.class_names[:5]}...; use data labelled with the teacher's classes, in its order"
            )
        self.sample_shape = tuple(dataset.sample_shape)
        self.n_classes = dataset.n_classes
        self.class_names = list(names or dataset.class_names)
        probe = self._outputs(np.ascontiguousarray(x_val[:PROBE], np.float32))
        if not np.isfinite(probe).all():
            raise DataError(f"teacher {self.name} returns NaN/Inf on {dataset.name}; check the model and the data")
        if _looks_like_probabilities(probe):
            self.outputs = "probabilities"  # distillation wants logits; log-probabilities are logits up to a shift
        self.probe_accuracy = float(np.mean(probe.argmax(1) == y_val[:PROBE]))
        chance = 1.0 / dataset.n_classes
        if self.probe_accuracy <= 1.5 * chance:
            warnings.warn(
                f"teacher {self.name} is right on only {self.probe_accuracy:.1%} of {min(PROBE, len(x_val))} "
                f"val samples (chance {chance:.1%}): are the inputs scaled and laid out as the teacher expects?",
                stacklevel=2,
            )
        return self

    def use_onnxruntime(self, rows: int) -> None:
        """Files run in the engine they came in (an .onnx teacher already runs in onnxruntime)."""

    def logits(self, x: np.ndarray) -> np.ndarray:
        if self.n_classes is None:
            raise RunError(f"teacher {self.name} has not been checked against a data set; call bind(dataset) first")
        out = self._outputs(np.ascontiguousarray(x, np.float32))
        return np.log(np.clip(out, 1e-12, None)) if self.outputs == "probabilities" else out

    def describe(self) -> dict:
        return {
            "path": str(self.path.resolve()),
            "kind": self.kind,
            "family": self.kind,
            "fingerprint": self.fingerprint,
            "sha256": self.sha256,
            "outputs": self.outputs,
            "val_probe_accuracy": self.probe_accuracy,
        }
