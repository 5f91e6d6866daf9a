"""FSP (Yim et al., 2017): distill the *flow* between layers rather than the layers themselves.

The FSP matrix between feature maps F1 (h×w×m) and F2 (h×w×n) is G_ij = Σ_{s,t} F1(s,t,i) · F2(s,t,j) / (h·w)
(the larger map is max-pooled to the smaller one's size first). Stage 1 trains the student so that its FSP matrices
match the teacher's, L = Σ_pairs λ_i · ‖G_i^T − G_i^S‖² averaged over samples; stage 2 trains the whole student on
the task loss (plus KD when --alpha > 0). The teacher's matrices are computed once per transfer set, before
training, instead of by a teacher forward pass on every batch of every epoch.

--fsp-shuffle SEED permutes each teacher layer's channels (the rows and columns of its FSP matrices), which keeps
what the teacher teaches but changes which student channel learns what: students taught with different shuffles
are less correlated, and their ensemble gains more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..errors import OptionError
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
from .losses import hard_loss, kd_loss


def fsp_matrix(f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
    """(N, C1, C2) FSP matrices of two layers' outputs (N, C, *spatial); vectors count as 1-pixel maps."""
    f1 = f1 if f1.dim() > 2 else f1.unsqueeze(-1)
    f2 = f2 if f2.dim() > 2 else f2.unsqueeze(-1)
    f1, f2 = match_spatial(f1, f2)
    a, b = f1.flatten(2), f2.flatten(2)
    return a @ b.transpose(1, 2) / a.shape[2]


def fsp_loss(student: torch.Tensor, teacher: torch.Tensor, sizes: list[int], weights: list[float]) -> torch.Tensor:
    """Σ_i λ_i ‖G_i^T − G_i^S‖² (squared Frobenius norm per sample), averaged over the batch. The matrices of all
    pairs sit side by side, flattened, in (N, Σ sizes) tensors."""
    sq = (student - teacher).pow(2)
    total, start = sq.new_zeros(()), 0
    for size, weight in zip(sizes, weights, strict=True):
        total = total + weight * sq[:, start : start + size].sum(1).mean()
        start += size
    return total


@dataclass(frozen=True)
class Pair:
    teacher: tuple[str, str]
    student: tuple[str, str]

    def __str__(self) -> str:
        t, s = ":".join(self.teacher), ":".join(self.student)
        return t if t == s else f"{t}={s}"


def parse_pairs(text: str) -> list[Pair]:
    """'stem:stage1,stage1:stage2' (same layer names in both nets) or 'a:b=c:d' (teacher a:b, student c:d)."""
    pairs = []
    for item in (p.strip() for p in text.split(",") if p.strip()):
        sides = item.split("=")
        halves = [tuple(side.split(":")) for side in sides]
        if len(sides) > 2 or any(len(h) != 2 or not all(h) for h in halves):
            raise OptionError(
                f"--fsp-pairs {item!r}: write FIRST:SECOND (layers of both nets) or T1:T2=S1:S2 "
                "(teacher layers = student layers), pairs separated by commas"
            )
        pairs.append(Pair(halves[0], halves[-1]))
    if not pairs:
        raise OptionError("--fsp-pairs is empty; give at least one pair such as stage1:stage2")
    return pairs


STAGE = re.compile(r"stem|stage\d+")


def stage_boundaries(top_level_names: list[str]) -> list[str]:
    return [n for n in top_level_names if STAGE.fullmatch(n)]


def auto_pairs(teacher, student: nn.Module) -> list[Pair]:
    """Consecutive stage boundaries (stem -> stage1 -> stage2 -> ...), as Yim et al. paired ResNet stages."""
    layers = getattr(teacher, "layers", None)
    teacher_names = [r["layer"] for r in layers() if "." not in r["layer"]] if callable(layers) else []
    t = stage_boundaries(teacher_names)
    s = stage_boundaries([name for name, _ in student.named_children()])
    if len(t) < 2 or len(t) != len(s):
        raise OptionError(
            "--method fsp cannot pair the nets' stages automatically (teacher stages: "
            f"{', '.join(t) or 'none'}; student: {', '.join(s) or 'none'}); pass --fsp-pairs, e.g. "
            "--fsp-pairs 'T1:T2=S1:S2' with layers from 'kdedge teacher layers RUN'"
        )
    return [Pair((t[i], t[i + 1]), (s[i], s[i + 1])) for i in range(len(t) - 1)]


def channel_shuffles(teacher_feats: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.permutation(f.shape[1]) for name, f in teacher_feats.items()}


@torch.no_grad()
def teacher_flow(teacher, x: np.ndarray, pairs: list[Pair], shuffle: int | None, batch_size: int = 512) -> np.ndarray:
    """The teacher's FSP matrices for every pair, flattened side by side: (N, Σ C1·C2), computed once."""
    layers = list(dict.fromkeys(name for p in pairs for name in p.teacher))
    chunks = []
    perms = None
    for i in range(0, len(x), batch_size):
        feats = teacher_features(teacher, x[i : i + batch_size], layers, batch_size)
        if shuffle is not None:
            perms = perms or channel_shuffles(feats, shuffle)
            feats = {name: f[:, perms[name]] for name, f in feats.items()}
        t = {name: torch.from_numpy(f) for name, f in feats.items()}
        chunks.append(torch.cat([fsp_matrix(t[a], t[b]).flatten(1) for a, b in (p.teacher for p in pairs)], 1))
    return torch.cat(chunks).numpy()


class FlowHead(nn.Module):
    """Turns the student's layer outputs (in `layers` order) into its flattened FSP matrices."""

    def __init__(self, layers: list[str], pairs: list[Pair]):
        super().__init__()
        self.index = [(layers.index(a), layers.index(b)) for a, b in (p.student for p in pairs)]

    def forward(self, *feats):
        return torch.cat([fsp_matrix(feats[a], feats[b]).flatten(1) for a, b in self.index], 1)


def _check_shapes(teacher_shapes: list[tuple], student_shapes: list[tuple], pairs: list[Pair]) -> None:
    for pair, t, s in zip(pairs, teacher_shapes, student_shapes, strict=True):
        if t != s:
            raise OptionError(
                f"FSP pair {pair}: the teacher's matrices are {t[0]}x{t[1]} but the student's {s[0]}x{s[1]}; FSP "
                "needs the same channel counts on both sides (match --width to the teacher's, or pick other layers)"
            )


def train_fsp(method, module, train_data: Batches, val_data: Batches, config: TrainConfig, seed, label, teacher):
    require_features(teacher, "fsp")
    pairs = parse_pairs(method.fsp_pairs) if method.fsp_pairs else auto_pairs(teacher, module)
    weights = list(method.fsp_weights) if method.fsp_weights else [1.0] * len(pairs)
    if len(weights) != len(pairs):
        raise OptionError(f"--fsp-weights has {len(weights)} values for {len(pairs)} pairs; give one per pair")
    probe = train_data.batch(slice(0, 2))[0]
    student_layers = list(dict.fromkeys(name for p in pairs for name in p.student))
    shapes = layer_shapes(module, student_layers, probe)
    student_mats = [(shapes[a][0], shapes[b][0]) for a, b in (p.student for p in pairs)]

    teacher_layers = list(dict.fromkeys(n for p in pairs for n in p.teacher))
    t_channels = {n: f.shape[1] for n, f in teacher_features(teacher, probe.numpy(), teacher_layers).items()}
    _check_shapes([(t_channels[a], t_channels[b]) for a, b in (p.teacher for p in pairs)], student_mats, pairs)
    sizes = [c1 * c2 for c1, c2 in student_mats]
    # The teacher's side of the loss, once per transfer set (not a teacher forward pass per batch and epoch).
    flows = {
        split: teacher_flow(teacher, d.x, pairs, method.fsp_shuffle)
        for split, d in (("train", train_data), ("val", val_data))
    }

    torch.manual_seed(seed)
    flow = LayerHead(module, student_layers, FlowHead(student_layers, pairs))
    trainable = params_feeding(module, student_layers, probe)
    stage1 = train(
        flow,
        lambda out, target, _y: fsp_loss(out, target, sizes, weights),
        unlabelled(train_data, flows["train"]),
        unlabelled(val_data, flows["val"]),
        config.model_copy(update={"epochs": method.stage1_epochs}),
        seed,
        label=stage_label(label, 1, 2, "FSP " + ",".join(map(str, pairs))),
        params=trainable,
    )
    if method.alpha > 0:
        task, task_name = (lambda s, t, y: kd_loss(s, t, y, method.temperature, method.alpha)), "kd"
    else:
        task, task_name = (lambda s, _t, y: hard_loss(s, y)), "labels"
    stage2 = train(module, task, train_data, val_data, config, seed, label=stage_label(label, 2, 2, task_name))
    summary = stage_summary(stage1, "fsp_loss", pairs=[str(p) for p in pairs], trained_tensors=len(trainable))
    return {**stage2, "stage1": summary}
