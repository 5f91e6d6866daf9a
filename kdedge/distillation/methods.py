"""Distillation methods, registered by name with their validated options.

A method says whether it needs the teacher, how a neural student is trained (a loss on logits) and what a
non-neural student regresses (targets from teacher logits, or None for a plain classifier on the labels).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import OptionError
from ..params import number_list, validate_params

METHODS: dict[str, type[Method]] = {}
NEURAL, NONNEURAL, SOFT_LABELS = "neural", "nonneural", "soft-labels"


def method(cls=None, *, replace: bool = False):
    """Class decorator: add a method under `cls.name`; a name already taken is refused unless `replace`."""

    def add(cls):
        if cls.name in METHODS and not replace and METHODS[cls.name] is not cls:
            raise ValueError(f"method {cls.name!r} is registered twice; pass method(replace=True)")
        METHODS[cls.name] = cls
        return cls

    return add if cls is None else add(cls)


class Method(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str]
    summary: ClassVar[str]
    needs_teacher: ClassVar[bool] = True
    # Which students it trains: neural ones through `loss`, non-neural ones through `regression_targets`.
    trains: ClassVar[frozenset[str]] = frozenset({NEURAL})

    def loss(self, student_logits, teacher_logits, labels):
        raise NotImplementedError(f"method {self.name!r} does not train neural students")

    def regression_targets(self, teacher_logits: np.ndarray | None) -> np.ndarray | None:
        raise NotImplementedError(f"method {self.name!r} does not train non-neural students")

    def soft_labels(self, teacher_logits: np.ndarray | None) -> np.ndarray | None:
        """The teacher's softened probabilities for a non-neural family that learns from them natively
        (Student.learns_soft_labels); None: the method teaches such a family by regression or labels instead."""
        return None

    # Feature methods read the teacher's layers, so the student's fit receives the teacher itself.
    needs_features: ClassVar[bool] = False
    # What to do when the teacher's classes differ from the data's (said after the mismatch).
    other_task_fix: ClassVar[str] = "use data labelled with the teacher's classes"

    @property
    def needs_teacher_outputs(self) -> bool:
        """Whether training reads the teacher's logits over the data's classes: only then must the teacher have
        been trained on the same classes (a feature-only method can learn from a teacher of another task)."""
        return self.needs_teacher

    def train_neural(self, module, train_data, val_data, config, seed: int, label: str, teacher=None) -> dict:
        """Train a torch student in place: one stage on `loss` here; staged methods (fitnets, fsp) override it."""
        from .loop import train

        return train(module, self.loss, train_data, val_data, config, seed, label=label)

    def describe(self) -> dict:
        return {"name": self.name, **self.model_dump()}


@method
class Hard(Method):
    name: ClassVar[str] = "hard"
    summary: ClassVar[str] = "baseline: train on the labels, no teacher"
    needs_teacher: ClassVar[bool] = False
    trains: ClassVar[frozenset[str]] = frozenset({NEURAL, NONNEURAL})
    label_smoothing: float = Field(
        0.0, ge=0, lt=1, description="hard, neural: move this much of each label's weight to a uniform spread"
    )

    def loss(self, student_logits, teacher_logits, labels):
        from .losses import hard_loss

        return hard_loss(student_logits, labels, self.label_smoothing)

    def regression_targets(self, teacher_logits):
        return None


@method
class KD(Method):
    name: ClassVar[str] = "kd"
    summary: ClassVar[str] = "Hinton et al.: T² · α · KL(teacher ‖ student at temperature T) + (1 − α) · CE"
    temperature: float = Field(4.0, gt=0, description="softmax temperature T")
    alpha: float = Field(0.9, ge=0, le=1, description="weight of the soft term (1 - alpha on labels)")
    # neural students through `loss`; a booster through the same loss as its multiclass objective
    trains: ClassVar[frozenset[str]] = frozenset({NEURAL, SOFT_LABELS})

    def loss(self, student_logits, teacher_logits, labels):
        from .losses import kd_loss

        return kd_loss(student_logits, teacher_logits, labels, self.temperature, self.alpha)

    def soft_labels(self, teacher_logits):
        z = np.asarray(teacher_logits, np.float64) / self.temperature
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


@method
class Logits(Method):
    name: ClassVar[str] = "logits"
    summary: ClassVar[str] = "Ba & Caruana: regress the teacher's logits (MSE)"
    trains: ClassVar[frozenset[str]] = frozenset({NEURAL, NONNEURAL})

    def loss(self, student_logits, teacher_logits, labels):
        from .losses import logit_mse

        return logit_mse(student_logits, teacher_logits)

    def regression_targets(self, teacher_logits):
        return teacher_logits


@method
class Softmax(Method):
    name: ClassVar[str] = "softmax"
    summary: ClassVar[str] = "Fukui et al.: regress the teacher's softmax at temperature T"
    trains: ClassVar[frozenset[str]] = frozenset({NONNEURAL})
    temperature: float = Field(100.0, gt=0, description="softmax temperature T")

    def regression_targets(self, teacher_logits):
        z = teacher_logits / self.temperature
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


@method
class FitNets(Method):
    name: ClassVar[str] = "fitnets"
    summary: ClassVar[str] = (
        "Romero et al.: stage 1 regresses the teacher's --hint-layer from the student's --guided-layer, stage 2 is kd"
    )
    needs_features: ClassVar[bool] = True
    hint_layer: str = Field("stage2", description="teacher layer to regress (see kdedge teacher layers)")
    guided_layer: str = Field("stage2", description="student layer that regresses it")
    regressor: Literal["auto", "conv", "linear"] = Field("auto", description="auto, conv (1x1) or linear")
    stage1_epochs: int = Field(60, gt=0, description="epochs of the feature stage")
    temperature: float = Field(4.0, gt=0, description="softmax temperature T")
    alpha: float = Field(0.9, ge=0, le=1, description="weight of the soft term (1 - alpha on labels)")

    def train_neural(self, module, train_data, val_data, config, seed, label, teacher=None):
        from .fitnets import train_fitnets

        return train_fitnets(self, module, train_data, val_data, config, seed, label, teacher)


@method
class FSP(Method):
    name: ClassVar[str] = "fsp"
    summary: ClassVar[str] = (
        "Yim et al.: stage 1 matches the teacher's FSP matrices between layer pairs, stage 2 the labels (kd if --alpha)"
    )
    needs_features: ClassVar[bool] = True
    fsp_pairs: str | None = Field(
        None, description="layer pairs 'stem:stage1,stage1:stage2' or 'T1:T2=S1:S2' (default: stage boundaries)"
    )
    fsp_weights: tuple[float, ...] | None = Field(None, description="one loss weight per pair, e.g. 1,1,1")
    fsp_shuffle: int | None = Field(None, description="permute the teacher's channels with this seed")
    stage1_epochs: int = Field(60, gt=0, description="epochs of the feature stage")
    temperature: float = Field(4.0, gt=0, description="softmax temperature T")
    alpha: float = Field(0.0, ge=0, le=1, description="weight of the soft term (1 - alpha on labels)")
    other_task_fix: ClassVar[str] = (
        "use --alpha 0 (no KD term): FSP then learns the teacher's flow on these inputs and the data's own labels"
    )

    @property
    def needs_teacher_outputs(self) -> bool:
        return self.alpha > 0  # stage 1 reads the teacher's layers only; stage 2 reads its logits only for KD

    @field_validator("fsp_weights", mode="before")
    @classmethod
    def _parse_weights(cls, value):
        return number_list(value, float)

    def train_neural(self, module, train_data, val_data, config, seed, label, teacher=None):
        from .fsp import train_fsp

        return train_fsp(self, module, train_data, val_data, config, seed, label, teacher)


def methods_for(student_cls) -> list[str]:
    """The methods that declare they train this kind of student (methods own that decision, not students)."""
    return [name for name, m in METHODS.items() if student_cls.distilled and student_cls.kinds() & m.trains]


def check_method(family: str, method_name: str) -> None:
    from ..students import student_class

    cls = student_class(family)
    if not cls.distilled:
        raise OptionError(f"--student {family} is not trained by a method: {cls.summary}")
    accepted = methods_for(cls)
    if method_name not in accepted:
        raise OptionError(
            f"--method {method_name} does not apply to --student {family}; choose from {', '.join(accepted)}"
        )


def make_method(name: str, **options) -> Method:
    from ..plugins import load_plugins

    load_plugins()
    if name not in METHODS:
        raise OptionError(f"unknown --method {name!r}; choose from {', '.join(METHODS)}")
    return validate_params(METHODS[name], options, f"--method {name}")
