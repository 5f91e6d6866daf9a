"""Teachers: anything that maps inputs to class logits. Any finished kdedge run can teach, and so can a model
trained elsewhere (TorchScript, ONNX, weights + factory; see `TEACHER_KINDS`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..runs import Run
from .registry import TEACHER_KINDS, resolve_kind, teacher_kind

__all__ = ["TEACHER_KINDS", "RunTeacher", "Teacher", "load_teacher"]


class Teacher(Protocol):
    name: str
    sample_shape: tuple[int, ...]
    n_classes: int
    class_names: list[str]
    fingerprint: str  # changes whenever the teacher's outputs could change
    has_features: bool  # whether `features(x, layers)` can read intermediate layers

    def logits(self, x: np.ndarray) -> np.ndarray: ...

    def bind(self, dataset, classes: bool = True) -> Teacher:
        """Check the teacher against `dataset` before any training (shape, and classes unless `classes` is False:
        a teacher of another task can still give its layers); return it ready to use."""
        ...

    def describe(self) -> dict: ...

    def use_onnxruntime(self, rows: int) -> None:
        """Label the next `rows` inputs through onnxruntime where that is available and pays (see RunTeacher)."""
        ...


# onnxruntime ran the conv teachers 2.1-3.5x faster than torch eager at batch 64-128 on one CPU thread (ResNet-20
# and the built-in CNN, measured side by side); an in-memory export costs 2-10 s, so it pays from about this many rows.
ONNXRUNTIME_PAYS_ROWS = 200_000


@dataclass
class RunTeacher:
    """A run directory (a trained teacher or a distilled student) used as a teacher."""

    run: Run

    def __post_init__(self):
        from ..students import load_student

        self.student = load_student(self.run)
        data = self.run.manifest.data
        self.name = str(self.run.path)
        self.sample_shape = tuple(data.sample_shape)
        self.n_classes = data.n_classes
        self.class_names = list(data.class_names)
        self.fingerprint = self.run.manifest.weights_sha256

    def logits(self, x: np.ndarray) -> np.ndarray:
        session = getattr(self, "_session", None)
        if session is not None:
            from ..onnx_run import run_batched

            return run_batched(session, ["scores"], x)[0]
        return self.student.scores(x)

    def __getstate__(self) -> dict:
        # sent to a Dask worker (kdedge.cluster): an onnxruntime session does not pickle; the worker opens its own
        return {k: v for k, v in self.__dict__.items() if k != "_session"}

    def use_onnxruntime(self, rows: int) -> None:
        """Route logits through onnxruntime: the run's own fp32 model.onnx when it has been exported (its parity
        with these weights was checked then), else an in-memory export when `rows` is large enough to pay for it."""
        if getattr(self, "_session", None) is not None or not self.student.neural:
            return
        import onnxruntime as ort

        from ..compute import training_threads
        from ..measure import model_metadata

        if self.run.onnx_path.is_file() and model_metadata(self.run.onnx_path).get("precision", "fp32") == "fp32":
            model = self.run.onnx_path.read_bytes()
        elif rows >= ONNXRUNTIME_PAYS_ROWS:
            from ..convert.converters import to_onnx

            model = to_onnx(self.student, 18).SerializeToString()
        else:
            return
        options = ort.SessionOptions()
        options.intra_op_num_threads = training_threads()  # the same share as training
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    @property
    def has_features(self) -> bool:
        return hasattr(self.student, "features")

    @property
    def runtime(self) -> str:
        return "torch eager" if hasattr(self.student, "module") else "native"

    def bind(self, dataset, classes: bool = True) -> RunTeacher:
        dataset.check_compatible(
            self.sample_shape, self.n_classes if classes else dataset.n_classes, f"teacher {self.name}"
        )
        if classes and self.class_names != list(dataset.class_names):
            from ..errors import DataError

            raise DataError(
                f"teacher {self.name} has classes {self.class_names[:5]}... but {dataset.name} has "
                f"{dataset.class_names[:5]}...; use data labelled with the teacher's classes"
            )
        return self

    def latency(self, samples: np.ndarray, threads: int = 1, **options) -> dict:
        """Batch-1 latency of the native model (torch eager for neural runs)."""
        from ..measure.timing import time_calls
        from .timing import torch_latency

        if hasattr(self.student, "module"):
            return torch_latency(self.student.module, samples, threads, **options)
        rows = [samples[i : i + 1] for i in range(len(samples))]
        return {
            "runtime": self.runtime,
            "threads": None,
            "batch": 1,
            **time_calls(self.student.scores, rows, **options),
        }

    def features(self, x: np.ndarray, layers: list[str]) -> dict[str, np.ndarray]:
        """Outputs of named layers (module paths, via forward hooks) for feature methods (fitnets, fsp)."""
        return self._torch_student().features(x, layers)

    def layers(self) -> list[dict]:
        """Named layers with their output shapes (`kdedge teacher layers`)."""
        return self._torch_student().layers()

    def _torch_student(self):
        if not hasattr(self.student, "features"):
            from ..errors import OptionError

            raise OptionError(
                f"teacher {self.name} is a '{self.run.family}' model without named layers; feature methods "
                "(fitnets, fsp) need a torch teacher, e.g. one from 'kdedge teacher train'"
            )
        return self.student

    def describe(self) -> dict:
        return {
            "path": str(self.run.path.resolve()),
            "kind": self.run.kind,
            "family": self.run.family,
            "fingerprint": self.fingerprint,
        }


@teacher_kind("run", directory=True)
def load_run_teacher(path: Path, factory: str | None = None) -> RunTeacher:
    """A kdedge run directory (a trained teacher or a distilled student)."""
    return RunTeacher(Run.load(path))


def load_teacher(spec: str | Path, factory: str | None = None):
    """The one entry point: a run directory, a TorchScript .pt, an .onnx, or weights with `factory`.

    Teachers from files do not know the data: call `teacher.bind(dataset)` before using them.
    """
    path = Path(spec)
    return resolve_kind(path, factory).load(path, factory)


# Loaders for teachers trained elsewhere register themselves on import (torch and onnxruntime load lazily).
from . import onnx_teacher, torch_teachers  # noqa: E402,F401
