"""Torch architectures, registered by name. Every net starts with its input normalization, so the
ONNX graph takes raw inputs exactly as the data set stores them."""

from __future__ import annotations

from collections import OrderedDict
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
    raise OptionError(
        "convolutional nets need images (C, H, W) or sequences (C, L); for vectors use an MLP "
        "(--student mlp for distill, --arch mlp for teacher train)"
    )


@architecture("cnn")
def build_cnn(
    sample_shape,
    n_classes,
    mean,
    std,
    channels: tuple[int, ...] = (32, 64, 64),
    convs: int = 1,
    pool_after: tuple[int, ...] = (2,),
) -> nn.Module:
    """A VGG-style CNN: blocks of `convs` conv-BN-ReLU layers, a 2x max-pool after the blocks in `pool_after`
    (1-based; skipped once the map is under 4 wide), global average pooling, a linear layer. The defaults are the
    small CNN (one conv per block, one pool after the second: 8x8 digits keep a 4x4 map); the teacher for
    tens of thousands of images uses two convs per block and pools after blocks 1 and 2 (28x28 -> 14 -> 7)."""
    conv, bn, pool, gap = _conv_ops(len(sample_shape) - 1)
    layers: list[nn.Module] = [Normalize(mean, std)]
    in_ch, size = sample_shape[0], min(sample_shape[1:])
    for block, out_ch in enumerate(channels, start=1):
        for _ in range(convs):
            layers += [conv(in_ch, out_ch, 3, padding=1), bn(out_ch), nn.ReLU()]
            in_ch = out_ch
        if block in pool_after and size >= 4:
            layers.append(pool(2))
            size //= 2
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


class BasicBlock(nn.Module):
    """He et al.'s basic block: two 3x3 conv-BN layers plus a shortcut (1x1 conv-BN when the shape changes)."""

    def __init__(self, dims: int, in_ch: int, out_ch: int, stride: int):
        super().__init__()
        conv, bn, _, _ = _conv_ops(dims)
        self.conv1 = conv(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = bn(out_ch)
        self.relu1 = nn.ReLU()
        self.conv2 = conv(out_ch, out_ch, 3, padding=1, bias=False)
        self.bn2 = bn(out_ch)
        self.relu2 = nn.ReLU()
        reshape = stride != 1 or in_ch != out_ch
        self.shortcut = (
            nn.Sequential(conv(in_ch, out_ch, 1, stride=stride, bias=False), bn(out_ch)) if reshape else nn.Identity()
        )

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(out)) + self.shortcut(x))


MIN_MAP = 4  # stages halve the map only while it stays at least this wide (digits: 8x8 -> 8, 4, 4)


@architecture("resnet")
def build_resnet(sample_shape, n_classes, mean, std, depth: int = 8, width: int = 16) -> nn.Module:
    """The CIFAR ResNets of He et al. (depth 6n+2: a stem conv, three stages of n basic blocks with width,
    2·width and 4·width channels, global average pooling, a linear layer), 2-D or 1-D by input layout.

    Top-level modules are named (`stem`, `stage1`..`stage3`, `pool`, `fc`) so hint and FSP layers can be picked
    by path; blocks are `stage2.0`, `stage2.1`, ...
    """
    if depth < 8 or (depth - 2) % 6:
        raise OptionError(f"--depth {depth}: a ResNet has depth 6n+2 (8, 14, 20, 26, ...)")
    dims = len(sample_shape) - 1
    conv, bn, _, gap = _conv_ops(dims)
    n_blocks = (depth - 2) // 6
    size = min(sample_shape[1:])
    modules: list[tuple[str, nn.Module]] = [
        ("normalize", Normalize(mean, std)),
        ("stem", nn.Sequential(conv(sample_shape[0], width, 3, padding=1, bias=False), bn(width), nn.ReLU())),
    ]
    in_ch = width
    for stage in range(3):
        out_ch = width * 2**stage
        stride = 2 if stage > 0 and size // 2 >= MIN_MAP else 1
        size //= stride
        blocks = [
            BasicBlock(dims, in_ch if i == 0 else out_ch, out_ch, stride if i == 0 else 1) for i in range(n_blocks)
        ]
        modules.append((f"stage{stage + 1}", nn.Sequential(*blocks)))
        in_ch = out_ch
    modules += [("pool", gap(1)), ("flatten", nn.Flatten()), ("fc", nn.Linear(in_ch, n_classes))]
    return nn.Sequential(OrderedDict(modules))


def build(name: str, sample_shape, n_classes: int, mean, std, **args) -> nn.Module:
    if name not in ARCHITECTURES:
        raise OptionError(f"unknown architecture {name!r}; choose from {', '.join(sorted(ARCHITECTURES))}")
    return ARCHITECTURES[name](tuple(sample_shape), n_classes, mean, std, **args)


def count_parameters(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


# -- reading intermediate layers (FitNets hints, FSP matrices, `kdedge teacher layers`) --


class _StopForward(Exception):
    """Raised by a hook once every wanted layer has run, to skip the rest of the net."""


def submodule(module: nn.Module, path: str) -> nn.Module:
    try:
        return module.get_submodule(path)
    except AttributeError:
        tops = ", ".join(name for name, _ in module.named_children())
        raise OptionError(
            f"no layer {path!r} in this net; pick one listed by 'kdedge teacher layers RUN' (top level: {tops})"
        ) from None


def capture(module: nn.Module, x: torch.Tensor, layers: list[str], stop_early: bool = False) -> dict:
    """Outputs of the modules at `layers` (paths like 'stage2' or 'stage2.0.conv1') for input `x`, via forward
    hooks, so nets stay plain nn.Modules. With `stop_early` the forward pass ends after the last wanted layer."""
    found: dict[str, torch.Tensor] = {}
    wanted = list(dict.fromkeys(layers))

    def hook_for(name):
        def hook(_module, _inputs, output):
            found[name] = output
            if stop_early and len(found) == len(wanted):
                raise _StopForward

        return hook

    handles = [submodule(module, name).register_forward_hook(hook_for(name)) for name in wanted]
    try:
        module(x)
    except _StopForward:
        pass
    finally:
        for h in handles:
            h.remove()
    return found


@torch.no_grad()
def layer_table(module: nn.Module, sample_shape) -> list[dict]:
    """Every named module with its output shape for one sample (batch dimension dropped)."""
    names = [name for name, _ in module.named_modules() if name]
    was_training = module.training
    module.eval()
    outputs = capture(module, torch.zeros((2, *sample_shape)), names)
    module.train(was_training)
    rows = []
    for name in names:
        sub = module.get_submodule(name)
        out = outputs.get(name)
        rows.append(
            {
                "layer": name,
                "type": type(sub).__name__,
                "output_shape": list(out.shape[1:]) if isinstance(out, torch.Tensor) else None,
                "params": count_parameters(sub),
            }
        )
    return rows
