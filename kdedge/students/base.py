"""The Student interface every family implements, and the registry that maps family names to classes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import BaseModel

from ..data import Normalization
from ..errors import OptionError, RunError
from ..params import validate_params

if TYPE_CHECKING:
    from ..distillation.batches import Batches
    from ..distillation.methods import Method

STUDENTS: dict[str, type[Student]] = {}


@dataclass(frozen=True)
class Tolerance:
    """The parity gate's bounds for a family: scores within rtol/atol, labels agreeing on this share of the test set."""

    rtol: float = 1e-3
    atol: float = 1e-5
    min_label_agreement: float = 1.0


def register(cls: type[Student] | None = None, *, replace: bool = False):
    """Class decorator: add a family under `cls.family`; a name already taken is refused unless `replace`."""

    def add(cls: type[Student]) -> type[Student]:
        if cls.family in STUDENTS and not replace and STUDENTS[cls.family] is not cls:
            raise ValueError(f"student family {cls.family!r} is registered twice; pass register(replace=True)")
        STUDENTS[cls.family] = cls
        return cls

    return add if cls is None else add(cls)


class Student(ABC):
    """A model that learns from a transfer set and ends as an ONNX graph `input -> scores (N,K), label (N,)`."""

    family: ClassVar[str]
    summary: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    # Trained by the torch loop on a loss over logits (online teaching, KL fidelity); scores are logits.
    neural: ClassVar[bool] = False
    # Made by distillation methods (an ensemble is made by `kdedge ensemble` from finished runs instead).
    distilled: ClassVar[bool] = True
    # Whether int8 quantization has weights to work on (MatMul/Gemm/Conv tensors, not tree or SVM operators).
    quantizable: ClassVar[bool] = False
    # How closely the exported graph must reproduce `scores` (kdedge.convert's parity gate).
    parity_tolerance: ClassVar[Tolerance] = Tolerance()

    # Whether the family also learns from soft labels natively (a multiclass objective on the teacher's softened
    # probabilities): methods that declare they train "soft-labels" (kd) then apply to it.
    learns_soft_labels: ClassVar[bool] = False

    @classmethod
    def kind(cls) -> str:
        """What methods declare they train: "neural" or "nonneural"."""
        return "neural" if cls.neural else "nonneural"

    @classmethod
    def kinds(cls) -> frozenset[str]:
        """Every kind of training this family takes: its kind, and "soft-labels" where it learns from them."""
        return frozenset({cls.kind(), *(("soft-labels",) if cls.learns_soft_labels else ())})

    def __init__(self, params: BaseModel, sample_shape: tuple[int, ...], n_classes: int, normalization: Normalization):
        self.params = params
        self.sample_shape = tuple(sample_shape)
        self.n_classes = n_classes
        self.normalization = normalization

    @abstractmethod
    def fit(self, method: Method, train: Batches, val: Batches, seed: int, *, teacher=None) -> dict:
        """Learn from `train` (inputs, labels, teacher logits); select on `val`. Returns training facts.

        `teacher` is passed only for methods with `needs_features` (fitnets, fsp), which read its layers."""

    @abstractmethod
    def scores(self, x: np.ndarray) -> np.ndarray:
        """Class scores (N, K) on raw inputs, exactly what the ONNX graph's `scores` output must reproduce."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.scores(x), axis=1)

    @abstractmethod
    def save(self, directory: Path) -> list[str]:
        """Write native weights (no pickle) into `directory`; return the file names written."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, params: BaseModel, sample_shape, n_classes, normalization) -> Student:
        """Rebuild a fitted student from what `save` wrote."""

    @property
    @abstractmethod
    def n_params(self) -> int:
        """Learned numbers in the model (weights, thresholds, support vectors...)."""


def make_params(family: str, options: dict) -> BaseModel:
    cls = student_class(family)
    return validate_params(cls.Params, options, f"--student {family}")


def student_class(family: str) -> type[Student]:
    from ..plugins import load_plugins
    from . import _families  # noqa: F401  (registers every family)

    load_plugins()

    if family not in STUDENTS:
        raise OptionError(f"unknown --student {family!r}; choose from {', '.join(sorted(STUDENTS))}")
    return STUDENTS[family]


def load_student(run) -> Student:
    """The fitted student (or built-in teacher) stored in a run directory: its weights checked against the recorded
    fingerprint, and any failure to parse them (each format's library has its own errors) one RunError."""
    from .._io import reading
    from ..data import Normalization

    try:
        cls = student_class(run.family)
    except OptionError:
        raise RunError(
            f"{run.path}: its family {run.family!r} is not one this kdedge knows ({', '.join(sorted(STUDENTS))}); "
            "install the plug-in that provides it, or recreate the run"
        ) from None
    data = run.manifest.data
    params = validate_params(cls.Params, run.manifest.student.params, f"{run.path}: the recorded {run.family} params")
    run.check_weights()
    with reading(run.path, f"{run.family} run's weights", f"recreate the run with '{run.remake}'"):
        return cls.load(
            run.path, params, tuple(data.sample_shape), data.n_classes, Normalization.from_dict(data.normalization)
        )
