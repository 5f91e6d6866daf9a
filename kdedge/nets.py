"""Torch architectures, registered by name. Every net starts with its input normalization, so the
ONNX graph takes raw inputs exactly as the data set stores them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .errors import OptionError

# name -> builder(sample_shape, n_classes, normalization_mean, normalization_std, **args) -> nn.Module
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {}


def architecture(name: str):
    def register(fn):
        ARCHITECTURES[name] = fn
        return fn

    return register


class Normalize(nn.Module):
    """(x - mean) / std with the train split's statistics, stored as buffers (and exported with the graph)."""

    def __init__(self, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean, np.float32)).unsqueeze(0))
        self.register_buffer("std", torch.as_tensor(np.asarray(std, np.float32)).unsqueeze(0))

    def forward(self, x):
        return (x - self.mean) / self.std


def _conv_ops(dims: int):
    if dims == 2:
        return nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d
    if dims == 1:
        return nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d, nn.AdaptiveAvgPool1d
    raise OptionError("convolutional nets need images (C, H, W) or sequences (C, L); use --student mlp for vectors")


@architecture("cnn")
def build_cnn(sample_shape, n_classes, mean, std, channels: tuple[int, ...] = (32, 64, 64)) -> nn.Module:
    """A small VGG-style CNN: conv-BN-ReLU blocks, one 2x max-pool while the map is large enough, global average."""
    conv, bn, pool, gap = _conv_ops(len(sample_shape) - 1)
    layers: list[nn.Module] = [Normalize(mean, std)]
    in_ch, size = sample_shape[0], min(sample_shape[1:])
    for i, out_ch in enumerate(channels):
        layers += [conv(in_ch, out_ch, 3, padding=1), bn(out_ch), nn.ReLU()]
        if i == 1 and size >= 4:  # pool once, after the second block: 8x8 digits keep a 4x4 map
            layers.append(pool(2))
            size //= 2
        in_ch = out_ch
    layers += [gap(1), nn.Flatten(), nn.Linear(in_ch, n_classes)]
    return nn.Sequential(*layers)


@architecture("mlp")
def build_mlp(sample_shape, n_classes, mean, std, hidden: tuple[int, ...] = (128,)) -> nn.Module:
    layers: list[nn.Module] = [Normalize(mean, std), nn.Flatten()]
    width = int(np.prod(sample_shape))
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


def build(name: str, sample_shape, n_classes: int, mean, std, **args) -> nn.Module:
    if name not in ARCHITECTURES:
        raise OptionError(f"unknown architecture {name!r}; choose from {', '.join(sorted(ARCHITECTURES))}")
    return ARCHITECTURES[name](tuple(sample_shape), n_classes, mean, std, **args)


def count_parameters(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))
