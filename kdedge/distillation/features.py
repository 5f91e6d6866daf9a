"""What the feature methods (FitNets, FSP) share: reading a teacher's layers, matching map sizes, and wrapping a
student so that a stage which trains on intermediate layers still runs through the one training loop."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import nets
from ..errors import OptionError
from .loop import Batches


def require_features(teacher, method_name: str) -> None:
    """Feature methods need named layers; ONNX graphs and averaged teachers have none."""
    has = getattr(teacher, "has_features", None)
    if not (callable(getattr(teacher, "features", None)) if has is None else has):
        raise OptionError(
            f"--method {method_name} reads the teacher's intermediate layers, but teacher {teacher.name} exposes "
            "none (ONNX graphs, TorchScript files, non-neural runs and averaged teachers have no named layers); "
            "use a torch teacher (a kdedge run of a neural family, or weights with --factory), or --method kd"
        )


def teacher_features(teacher, x: np.ndarray, layers: list[str], batch_size: int = 512) -> dict[str, np.ndarray]:
    parts = [teacher.features(x[i : i + batch_size], layers) for i in range(0, len(x), batch_size)]
    return {name: np.concatenate([p[name] for p in parts]).astype(np.float32) for name in layers}


def match_spatial(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Max-pool whichever map is larger (per spatial dimension) down to the other's size (Yim et al.)."""
    if a.shape[2:] == b.shape[2:]:
        return a, b
    if a.dim() != b.dim():
        raise OptionError(
            f"cannot match a layer of shape {tuple(a.shape[1:])} with one of shape {tuple(b.shape[1:])}; "
            "pick layers that both have (or both lack) spatial maps"
        )
    size = tuple(min(p, q) for p, q in zip(a.shape[2:], b.shape[2:], strict=True))
    pool = F.adaptive_max_pool2d if a.dim() == 4 else F.adaptive_max_pool1d
    return (a if a.shape[2:] == size else pool(a, size)), (b if b.shape[2:] == size else pool(b, size))


def params_feeding(module: nn.Module, layers: list[str], sample: torch.Tensor) -> list[nn.Parameter]:
    """The parameters that the outputs of `layers` depend on: what a stage trained on those layers may change."""
    was_training = module.training
    module.eval()
    outs = nets.capture(module, sample, layers, stop_early=True)
    params = [p for p in module.parameters() if p.requires_grad]
    total = sum(o.float().sum() for o in outs.values())
    grads = torch.autograd.grad(total, params, allow_unused=True)
    module.train(was_training)
    return [p for p, g in zip(params, grads, strict=True) if g is not None]


class LayerHead(nn.Module):
    """A student seen through some of its layers: forward returns `head(outputs of layers)` and skips the rest
    of the net. The student stays a submodule, so the loop's best-weights restore covers it."""

    def __init__(self, student: nn.Module, layers: list[str], head: nn.Module):
        super().__init__()
        self.student = student
        self.layers = list(layers)
        self.head = head

    def forward(self, x):
        found = nets.capture(self.student, x, self.layers, stop_early=True)
        return self.head(*(found[name] for name in self.layers))


def unlabelled(data: Batches, targets: np.ndarray) -> Batches:
    """The split with feature targets in place of logits and labels hidden (-1): a feature stage is selected on
    its validation loss alone (the loop's accuracy is then 0 for every epoch)."""
    return Batches(data.x, np.full(len(data), -1, np.int64), targets)


@torch.no_grad()
def layer_shapes(module: nn.Module, layers: list[str], sample: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Output shape (batch dimension dropped) of each layer of `module`."""
    was_training = module.training
    module.eval()
    outs = nets.capture(module, sample, layers, stop_early=True)
    module.train(was_training)
    return {name: tuple(outs[name].shape[1:]) for name in layers}


def stage_label(label: str, stage: int, of: int, what: str) -> str:
    return f"{label} · stage {stage}/{of}: {what}"


def stage_summary(info: dict, loss_name: str, **extra) -> dict:
    """What a feature stage records in the run's metrics: its selection facts and first vs best val loss."""
    return {
        "best_epoch": info["best_epoch"],
        "epochs_run": info["epochs_run"],
        f"val_{loss_name}_first_epoch": info["history"][0]["val_loss"],
        f"val_{loss_name}": info["val_loss"],
        "train_seconds": info["train_seconds"],
        **extra,
    }
