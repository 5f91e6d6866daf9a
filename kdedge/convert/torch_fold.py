"""Fold a net's input normalization into its first linear layer before export, when that layer sees the raw
features directly: Normalize → Flatten → Linear(W, b) becomes Flatten → Linear(W / s, b − (W / s)·m).

The same function with two fewer graph nodes (Sub, Div). On a small MLP each onnxruntime node costs about as much
as the arithmetic, so this is a measurable share of its latency (benchmarks/onnx_speed.py); the parity gate still
compares the exported graph with the unfolded model.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..nets import Normalize


def fold_input_normalization(module: nn.Module, sample_shape) -> nn.Module:
    """A folded copy of `module` when it starts Normalize, Flatten, Linear; else `module` itself."""
    layers = list(module.children()) if isinstance(module, nn.Sequential) else []
    if len(layers) < 3 or not (
        isinstance(layers[0], Normalize) and isinstance(layers[1], nn.Flatten) and isinstance(layers[2], nn.Linear)
    ):
        return module
    norm, linear = layers[0], layers[2]
    with torch.no_grad():
        shape = (1, *sample_shape)
        mean = torch.broadcast_to(norm.mean, shape).reshape(-1).double()
        std = torch.broadcast_to(norm.std, shape).reshape(-1).double()
        weight = linear.weight.double() / std  # each input column scaled by its feature's 1/std
        bias = linear.bias.double() - weight @ mean
        folded = copy.deepcopy(linear)
        folded.weight.copy_(weight.float())
        folded.bias.copy_(bias.float())
    return nn.Sequential(layers[1], folded, *layers[3:]).eval()
