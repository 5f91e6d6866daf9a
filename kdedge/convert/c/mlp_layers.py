"""The parts of kdedge's MLP student the C generators read: its Linear layers and the Normalize in front."""

from __future__ import annotations

import numpy as np

from ...errors import ExportError


def mlp_layers(student) -> tuple[list[np.ndarray], list[np.ndarray], object]:
    """(weights (n_out, n_in), biases, the Normalize module) of kdedge's MLP: Normalize, Flatten, Linear/ReLU."""
    from torch import nn

    layers = list(student.module)
    normalize, flatten, body = layers[0], layers[1], layers[2:]
    if not isinstance(flatten, nn.Flatten) or not all(isinstance(m, nn.Linear | nn.ReLU) for m in body):
        raise ExportError(f"the mlp's layers are not Normalize, Flatten, Linear/ReLU: {student.module}")
    linears = [m for m in body if isinstance(m, nn.Linear)]
    weights = [m.weight.detach().numpy().astype(np.float32) for m in linears]
    biases = [m.bias.detach().numpy().astype(np.float32) for m in linears]
    return weights, biases, normalize


def normalization(student, normalize) -> tuple[np.ndarray, np.ndarray]:
    """(offset, divisor) per flattened input, float32: features = (x - offset) / divisor."""
    shape = (1, *student.sample_shape)
    offset = np.broadcast_to(normalize.mean.numpy(), shape).ravel().astype(np.float32)
    divisor = np.broadcast_to(normalize.std.numpy(), shape).ravel().astype(np.float32)
    return offset, divisor
