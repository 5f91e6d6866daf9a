"""FitNets (Romero et al., 2015): hints from a teacher's intermediate layer.

Stage 1 trains the student up to its *guided* layer, plus a small regressor on top of it, to reproduce the
teacher's *hint* layer: L_HT = ½ ‖u_h(x) − r(v_g(x))‖² per sample. Only the parameters the guided layer depends
on (and the regressor's) move. Stage 2 trains the whole student with KD from there. The regressor is dropped.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..students.training import TrainConfig
from .features import (
    LayerHead,
    layer_shapes,
    match_spatial,
    params_feeding,
    require_features,
    stage_label,
    stage_summary,
    teacher_features,
    unlabelled,
)
from .loop import Batches, train
from .losses import kd_loss


def hint_loss(regressed: torch.Tensor, hint: torch.Tensor) -> torch.Tensor:
    """½ ‖hint − regressed‖² summed over a sample's features, averaged over the batch (maps max-pooled to match)."""
    regressed, hint = match_spatial(regressed, hint)
    return 0.5 * (regressed - hint).pow(2).flatten(1).sum(1).mean()


class LinearRegressor(nn.Module):
    """Flatten the guided layer, map it linearly to the hint's shape."""

    def __init__(self, guided_shape, hint_shape):
        super().__init__()
        self.hint_shape = tuple(hint_shape)
        self.linear = nn.Linear(math.prod(guided_shape), math.prod(hint_shape))

    def forward(self, v):
        return self.linear(v.flatten(1)).reshape(-1, *self.hint_shape)


class HintHead(nn.Module):
    """The regressor's output, max-pooled to `spatial` when its map is larger (as the hints were), flattened."""

    def __init__(self, regressor: nn.Module, spatial: tuple[int, ...]):
        super().__init__()
        self.regressor = regressor
        self.spatial = tuple(spatial)

    def forward(self, v):
        r = self.regressor(v)
        if tuple(r.shape[2:]) != self.spatial:
            r = (F.adaptive_max_pool2d if r.dim() == 4 else F.adaptive_max_pool1d)(r, self.spatial)
        return r.flatten(1)


def make_regressor(kind: str, guided_shape, hint_shape) -> nn.Module:
    """conv: a 1x1 convolution from the student's channels to the teacher's (maps need spatial dims on both
    sides); linear: a dense layer between the flattened shapes. auto picks conv when it can."""
    spatial = len(guided_shape) > 1 and len(guided_shape) == len(hint_shape) and len(guided_shape) in (2, 3)
    if kind == "auto":
        kind = "conv" if spatial else "linear"
    if kind == "linear":
        return LinearRegressor(guided_shape, hint_shape)
    if not spatial:
        from ..errors import OptionError

        raise OptionError(
            f"--regressor conv needs maps on both sides, but the guided layer gives {tuple(guided_shape)} and the "
            f"hint {tuple(hint_shape)}; use --regressor linear"
        )
    conv = nn.Conv2d if len(guided_shape) == 3 else nn.Conv1d
    return conv(guided_shape[0], hint_shape[0], 1)


def train_fitnets(method, module, train_data: Batches, val_data: Batches, config: TrainConfig, seed, label, teacher):
    require_features(teacher, "fitnets")
    hints = {
        split: teacher_features(teacher, data.x, [method.hint_layer])[method.hint_layer]
        for split, data in (("train", train_data), ("val", val_data))
    }
    torch.manual_seed(seed)
    probe = train_data.batch(slice(0, 2))[0]
    guided_shape = layer_shapes(module, [method.guided_layer], probe)[method.guided_layer]
    regressor = make_regressor(method.regressor, guided_shape, hints["train"].shape[1:])
    # The loop wants (N, D) outputs: max-pool the larger of regressor output and hint to the smaller map (the
    # teacher's hints once, here), then flatten both.
    with torch.no_grad():
        out_shape = regressor(torch.zeros((2, *guided_shape))).shape[1:]
        pooled, _ = match_spatial(torch.zeros((1, *out_shape)), torch.zeros((1, *hints["train"].shape[1:])))
        spatial = tuple(pooled.shape[2:])
        hints = {k: match_spatial(pooled, torch.from_numpy(h))[1].flatten(1).numpy() for k, h in hints.items()}
    guided = LayerHead(module, [method.guided_layer], HintHead(regressor, spatial))
    trainable = params_feeding(module, [method.guided_layer], probe) + list(regressor.parameters())
    stage1 = train(
        guided,
        lambda out, hint, _y: hint_loss(out, hint),
        unlabelled(train_data, hints["train"]),
        unlabelled(val_data, hints["val"]),
        config.model_copy(update={"epochs": method.stage1_epochs}),
        seed,
        label=stage_label(label, 1, 2, f"hint {method.hint_layer} -> {method.guided_layer}"),
        params=trainable,
    )
    stage2 = train(
        module,
        lambda s, t, y: kd_loss(s, t, y, method.temperature, method.alpha),
        train_data,
        val_data,
        config,
        seed,
        label=stage_label(label, 2, 2, "kd"),
    )
    summary = stage_summary(stage1, "hint_loss", trained_tensors=len(trainable), hint_size=int(hints["train"].shape[1]))
    return {**stage2, "stage1": summary}
