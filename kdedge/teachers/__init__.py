"""Teachers: anything that maps inputs to class logits. Any finished kdedge run can teach."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..runs import Run


class Teacher(Protocol):
    name: str
    sample_shape: tuple[int, ...]
    n_classes: int
    class_names: list[str]
    fingerprint: str  # changes whenever the teacher's outputs could change

    def logits(self, x: np.ndarray) -> np.ndarray: ...


@dataclass
class RunTeacher:
    """A run directory (a trained teacher or a distilled student) used as a teacher."""

    run: Run

    def __post_init__(self):
        from ..students import load_student

        self.student = load_student(self.run)
        data = self.run.manifest["data"]
        self.name = str(self.run.path)
        self.sample_shape = tuple(data["sample_shape"])
        self.n_classes = int(data["n_classes"])
        self.class_names = list(data["class_names"])
        self.fingerprint = self.run.manifest["weights_sha256"]

    def logits(self, x: np.ndarray) -> np.ndarray:
        return self.student.scores(x)

    def describe(self) -> dict:
        return {
            "path": str(self.run.path.resolve()),
            "kind": self.run.kind,
            "family": self.run.family,
            "fingerprint": self.fingerprint,
        }


def load_teacher(spec: str | Path) -> RunTeacher:
    return RunTeacher(Run.load(spec))
