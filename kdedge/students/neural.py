"""Torch students (and the built-in teachers, which are the same nets trained on labels)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from pydantic import Field, field_validator

from .. import nets
from ..distill.loop import Batches, TrainConfig
from .base import Student, register

WEIGHTS = "weights.safetensors"


def _int_tuple(value):
    """Accept `128,64` (CLI), `[128, 64]` (TOML) or `128`."""
    if isinstance(value, str):
        try:
            return tuple(int(v) for v in value.replace(" ", "").split(",") if v)
        except ValueError:
            raise ValueError(f"expected comma-separated integers, got {value!r}") from None
    if isinstance(value, int):
        return (value,)
    return value


class NeuralStudent(Student):
    """A net from `kdedge.nets`, trained by the shared loop with the method's loss."""

    architecture: ClassVar[str]
    methods: ClassVar[tuple[str, ...]] = ("hard", "kd", "logits", "fitnets", "fsp")
    neural: ClassVar[bool] = True

    def __init__(self, params, sample_shape, n_classes, normalization):
        super().__init__(params, sample_shape, n_classes, normalization)
        self.module = nets.build(
            self.architecture,
            sample_shape,
            n_classes,
            normalization.mean,
            normalization.std,
            **self.architecture_args(),
        )

    def architecture_args(self) -> dict:
        train_fields = set(TrainConfig.model_fields)
        return {k: v for k, v in self.params.model_dump().items() if k not in train_fields}

    def fit(self, method, train_data: Batches, val_data: Batches, seed: int, *, teacher=None) -> dict:
        torch.manual_seed(seed)  # the initial weights depend on the seed too
        self.module = nets.build(
            self.architecture,
            self.sample_shape,
            self.n_classes,
            self.normalization.mean,
            self.normalization.std,
            **self.architecture_args(),
        )
        config = TrainConfig(**{k: getattr(self.params, k) for k in TrainConfig.model_fields})
        # The method runs its stages (one for kd/hard/logits; hints or FSP first for fitnets/fsp).
        return method.train_neural(
            self.module, train_data, val_data, config, seed, label=f"{self.family} · {method.name}", teacher=teacher
        )

    @torch.no_grad()
    def features(self, x: np.ndarray, layers: list[str], batch_size: int = 512) -> dict[str, np.ndarray]:
        """Outputs of the named layers (module paths, see `layers()`) on raw inputs, in batches."""
        self.module.eval()
        x = torch.as_tensor(np.asarray(x, np.float32))
        parts = [nets.capture(self.module, x[i : i + batch_size], layers) for i in range(0, len(x), batch_size)]
        return {name: torch.cat([p[name] for p in parts]).numpy() for name in layers}

    def layers(self) -> list[dict]:
        return nets.layer_table(self.module, self.sample_shape)

    @torch.inference_mode()
    def scores(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        self.module.eval()
        x = torch.as_tensor(np.asarray(x, np.float32))
        return torch.cat([self.module(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]).numpy()

    def save(self, directory: Path) -> list[str]:
        from safetensors.torch import save_file

        state = {k: v.contiguous() for k, v in self.module.state_dict().items()}
        save_file(state, str(Path(directory) / WEIGHTS))
        return [WEIGHTS]

    @classmethod
    def load(cls, directory, params, sample_shape, n_classes, normalization):
        from safetensors.torch import load_file

        student = cls(params, sample_shape, n_classes, normalization)
        student.module.load_state_dict(load_file(str(Path(directory) / WEIGHTS)))
        student.module.eval()
        return student

    def to_onnx(self, opset: int):
        from ..export.torch_onnx import torch_to_onnx

        return torch_to_onnx(self.module, self.sample_shape, opset)

    @property
    def n_params(self) -> int:
        return nets.count_parameters(self.module)


class MLPParams(TrainConfig):
    hidden: tuple[int, ...] = (128,)

    _parse_hidden = field_validator("hidden", mode="before")(_int_tuple)


@register
class MLPStudent(NeuralStudent):
    family: ClassVar[str] = "mlp"
    summary: ClassVar[str] = "multilayer perceptron on flattened inputs (--hidden 128 or 128,64)"
    architecture: ClassVar[str] = "mlp"
    Params = MLPParams


class CNNParams(TrainConfig):
    channels: tuple[int, ...] = (32, 64, 64)

    _parse_channels = field_validator("channels", mode="before")(_int_tuple)


@register
class CNNStudent(NeuralStudent):
    family: ClassVar[str] = "cnn"
    summary: ClassVar[str] = "small CNN (2-D for images, 1-D for sequences); the built-in teacher"
    architecture: ClassVar[str] = "cnn"
    Params = CNNParams


class ResNetParams(TrainConfig):
    depth: int = Field(8, ge=8)
    width: int = Field(16, gt=0)


@register
class ResNetStudent(NeuralStudent):
    family: ClassVar[str] = "resnet"
    summary: ClassVar[str] = "CIFAR-style ResNet, depth 6n+2 (--depth 8/14/20, --width 16); 2-D or 1-D by layout"
    architecture: ClassVar[str] = "resnet"
    Params = ResNetParams
