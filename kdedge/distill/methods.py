"""Distillation methods, registered by name with their validated options.

A method says whether it needs the teacher, how a neural student is trained (a loss on logits) and what a
non-neural student regresses (targets from teacher logits, or None for a plain classifier on the labels).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..errors import OptionError
from ..params import validate_params

METHODS: dict[str, type[Method]] = {}


def method(cls):
    METHODS[cls.name] = cls
    return cls


class Method(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str]
    summary: ClassVar[str]
    needs_teacher: ClassVar[bool] = True

    def loss(self, student_logits, teacher_logits, labels):
        raise NotImplementedError(f"method {self.name!r} does not train neural students")

    def regression_targets(self, teacher_logits: np.ndarray | None) -> np.ndarray | None:
        raise NotImplementedError(f"method {self.name!r} does not train non-neural students")

    def describe(self) -> dict:
        return {"name": self.name, **self.model_dump()}


@method
class Hard(Method):
    name: ClassVar[str] = "hard"
    summary: ClassVar[str] = "baseline: train on the labels, no teacher"
    needs_teacher: ClassVar[bool] = False

    def loss(self, student_logits, teacher_logits, labels):
        from .losses import hard_loss

        return hard_loss(student_logits, labels)

    def regression_targets(self, teacher_logits):
        return None


@method
class KD(Method):
    name: ClassVar[str] = "kd"
    summary: ClassVar[str] = "Hinton et al.: T² · α · KL(teacher ‖ student at temperature T) + (1 − α) · CE"
    temperature: float = Field(4.0, gt=0)
    alpha: float = Field(0.9, ge=0, le=1)

    def loss(self, student_logits, teacher_logits, labels):
        from .losses import kd_loss

        return kd_loss(student_logits, teacher_logits, labels, self.temperature, self.alpha)


@method
class Logits(Method):
    name: ClassVar[str] = "logits"
    summary: ClassVar[str] = "Ba & Caruana: regress the teacher's logits (MSE)"

    def loss(self, student_logits, teacher_logits, labels):
        from .losses import logit_mse

        return logit_mse(student_logits, teacher_logits)

    def regression_targets(self, teacher_logits):
        return teacher_logits


@method
class Softmax(Method):
    name: ClassVar[str] = "softmax"
    summary: ClassVar[str] = "Fukui et al.: regress the teacher's softmax at temperature T"
    temperature: float = Field(100.0, gt=0)

    def regression_targets(self, teacher_logits):
        z = teacher_logits / self.temperature
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


def make_method(name: str, **options) -> Method:
    if name not in METHODS:
        raise OptionError(f"unknown --method {name!r}; choose from {', '.join(METHODS)}")
    return validate_params(METHODS[name], options, f"--method {name}")
