"""Torch students (and the built-in teachers, which are the same nets trained on labels)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import Field, field_validator

from ..compute import training_device
from ..errors import OptionError
from ..params import number_list
from .base import Student, register
from .training import TrainConfig

# torch and the nets load when a model is built, not when the families register: the option catalog (and the CLI
# built from it) needs only the Params models.

WEIGHTS = "weights.safetensors"


def _int_tuple(value):
    """Accept `128,64` (CLI), `[128, 64]` (TOML) or `128`; layer sizes, so each 1 or more."""
    sizes = number_list(value, int)
    if isinstance(sizes, list) and any(isinstance(v, int) and v < 1 for v in sizes):
        raise ValueError(f"layer sizes must be 1 or more, got {','.join(map(str, sizes))}")
    return sizes


class NeuralStudent(Student):
    """A net from `kdedge.nets`, trained by the shared loop with the method's loss."""

    architecture: ClassVar[str]
    neural: ClassVar[bool] = True
    quantizable: ClassVar[bool] = True

    def __init__(self, params, sample_shape, n_classes, normalization):
        from .. import nets

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

    def fit(self, method, train_data, val_data, seed: int, *, teacher=None) -> dict:
        import torch

        from .. import nets

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
        device = training_device()
        if device != "cpu" and method.needs_features:
            raise OptionError(f"--method {method.name} trains on the CPU only for now; use --device cpu")
        # Trained on the device, kept on the CPU: scores, saving and export never see the device.
        self.module.to(device)
        try:
            # The method runs its stages (one for kd/hard/logits; hints or FSP first for fitnets/fsp).
            info = method.train_neural(
                self.module, train_data, val_data, config, seed, label=f"{self.family} · {method.name}", teacher=teacher
            )
        finally:
            self.module.to("cpu")
        return info

    def features(self, x: np.ndarray, layers: list[str], batch_size: int = 512) -> dict[str, np.ndarray]:
        """Outputs of the named layers (module paths, see `layers()`) on raw inputs, in batches."""
        import torch

        from .. import nets

        self.module.eval()
        x = torch.as_tensor(np.asarray(x, np.float32))
        with torch.no_grad():
            parts = [nets.capture(self.module, x[i : i + batch_size], layers) for i in range(0, len(x), batch_size)]
        return {name: torch.cat([p[name] for p in parts]).numpy() for name in layers}

    def layers(self) -> list[dict]:
        from .. import nets

        return nets.layer_table(self.module, self.sample_shape)

    def scores(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        import torch

        self.module.eval()
        x = torch.as_tensor(np.asarray(x, np.float32))
        with torch.inference_mode():
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

    @property
    def n_params(self) -> int:
        from .. import nets

        return nets.count_parameters(self.module)


class MLPParams(TrainConfig):
    hidden: tuple[int, ...] = Field((128,), description="hidden layer sizes, e.g. 128 or 128,64")

    _parse_hidden = field_validator("hidden", mode="before")(_int_tuple)


@register
class MLPStudent(NeuralStudent):
    family: ClassVar[str] = "mlp"
    summary: ClassVar[str] = "multilayer perceptron on flattened inputs (--hidden 128 or 128,64)"
    architecture: ClassVar[str] = "mlp"
    Params = MLPParams


class CNNParams(TrainConfig):
    channels: tuple[int, ...] = Field((32, 64, 64), description="channels per conv block, e.g. 16,32,32")
    convs: int = Field(1, ge=1, le=4, description="conv-BN-ReLU layers per block")
    pool_after: tuple[int, ...] = Field((2,), description="blocks (1-based) followed by a 2x max-pool, e.g. 1,2")

    _parse_channels = field_validator("channels", "pool_after", mode="before")(_int_tuple)


@register
class CNNStudent(NeuralStudent):
    family: ClassVar[str] = "cnn"
    summary: ClassVar[str] = "small CNN (2-D for images, 1-D for sequences); the built-in teacher"
    architecture: ClassVar[str] = "cnn"
    Params = CNNParams


class ResNetParams(TrainConfig):
    depth: int = Field(8, ge=8, description="ResNet depth 6n+2: 8, 14, 20...")
    # 8, not 16: the default student should be smaller and faster than the default CNN teacher (ResNet-8 width 8:
    # 19,810 parameters, p50 23.9 µs vs the CNN's 56,714 and 39.8 µs on digits; width 16: 77,754 and 38.4 µs)
    width: int = Field(8, gt=0, description="ResNet base channels (stages: width, 2x, 4x)")


@register
class ResNetStudent(NeuralStudent):
    family: ClassVar[str] = "resnet"
    summary: ClassVar[str] = "CIFAR-style ResNet, depth 6n+2 (--depth 8/14/20, --width 8); 2-D or 1-D by layout"
    architecture: ClassVar[str] = "resnet"
    Params = ResNetParams
