"""Views: random transformations of inputs that a teacher labels, offline (a fixed set) or online (every batch).

Beyer et al. 2022 ("a good teacher is patient and consistent") showed that a student comes closest to its teacher
when both see the *same* aggressively transformed input at every step, so the student matches the teacher's
function around the data rather than its outputs on a few fixed points. Each op here works on a batch of raw
inputs `(N, *sample_shape)` with numpy, and ops compose left to right: `shift+mixup` shifts each input, then mixes
pairs. Offline (`--transfer shift+mixup --transfer-size 10x`) a fixed set is made once and labelled by the teacher
(non-neural students need that); online (`--teacher-mode online`, neural students) fresh views are drawn for every
batch and the teacher is run on exactly the batch the student sees.

An op is registered by name with the options it takes (pydantic fields); a combination's options are the union of
its ops', so an option of an op that is not in the combination is refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field
from pydantic.fields import FieldInfo

from ..errors import OptionError


@dataclass(frozen=True)
class ViewContext:
    """What ops may need besides the batch: per-channel std of the training inputs, and a pool of partners for
    mixup (None: partners come from the batch itself, as online)."""

    std: np.ndarray
    partners: np.ndarray | None = None


@dataclass(frozen=True)
class ViewOp:
    name: str
    summary: str
    keeps_labels: bool  # whether a view still shows its source's class (a mix of two classes does not)
    fields: dict[str, tuple[Any, FieldInfo]]
    apply: Any  # apply(x, rng, ctx, options) -> x
    needs_axes: bool = False  # only for inputs with spatial axes (images, sequences)


VIEW_OPS: dict[str, ViewOp] = {}


def view_op(name: str, summary: str, keeps_labels: bool, fields: dict, needs_axes: bool = False):
    def register(fn):
        if name in VIEW_OPS:
            raise ValueError(f"view op {name!r} is registered twice")
        VIEW_OPS[name] = ViewOp(name, summary, keeps_labels, fields, fn, needs_axes)
        return fn

    return register


def spatial_axes(sample_ndim: int) -> tuple[int, ...]:
    """Axes of a batch that can shift: (H, W) of (N, C, H, W), L of (N, C, L); none for feature vectors."""
    return tuple(range(2, sample_ndim + 1)) if sample_ndim > 1 else ()


def shift_batch(x: np.ndarray, limits: list[int], rng) -> np.ndarray:
    """Shift each input by a random whole number of steps in [-limit, limit] per spatial axis; borders repeat."""
    axes = spatial_axes(x.ndim - 1)
    shifts = np.stack([rng.integers(-m, m + 1, size=len(x)) for m in limits], axis=1)
    pad = [(0, 0)] * x.ndim
    for a, m in zip(axes, limits, strict=True):
        pad[a] = (m, m)
    padded = np.pad(x, pad, mode="edge")
    out = np.empty_like(x)
    for shift in np.unique(shifts, axis=0):
        rows = np.flatnonzero(np.all(shifts == shift, axis=1))
        index = [rows] + [slice(None)] * (x.ndim - 1)
        for a, m, s in zip(axes, limits, shift, strict=True):
            index[a] = slice(m - s, m - s + x.shape[a])
        out[rows] = padded[tuple(index)]
    return out


def default_max_shift(length: int) -> int:
    """A fifth of the axis, at least one step: 3 px on a 16-px canvas, 2 on an 8-px digit."""
    return max(1, round(0.2 * length))


@view_op(
    "shift",
    "random translations of up to --max-shift pixels/steps per axis (default a fifth of the axis)",
    keeps_labels=True,
    fields={"max_shift": (int | None, Field(None, ge=1, description="largest shift in pixels/steps (default 1/5)"))},
    needs_axes=True,
)
def _shift(x, rng, ctx, options):
    axes = spatial_axes(x.ndim - 1)
    limits = [options["max_shift"] or default_max_shift(x.shape[a]) for a in axes]
    limits = [min(m, x.shape[a] - 1) for m, a in zip(limits, axes, strict=True)]
    return shift_batch(x, limits, rng)


@view_op(
    "mixup",
    "mix each input with a random partner, lambda ~ Beta(--mixup-alpha, --mixup-alpha); no label survives",
    keeps_labels=False,
    fields={"mixup_alpha": (float, Field(1.0, gt=0, description="mixup: lambda ~ Beta(alpha, alpha)"))},
)
def _mixup(x, rng, ctx, options):
    alpha = options["mixup_alpha"]
    lam = rng.beta(alpha, alpha, size=len(x)).astype(np.float32).reshape((-1,) + (1,) * (x.ndim - 1))
    if ctx.partners is None:
        partners = x[rng.permutation(len(x))]
    else:
        partners = np.asarray(ctx.partners[np.sort(rng.integers(0, len(ctx.partners), size=len(x)))], np.float32)
        partners = partners[rng.permutation(len(x))]  # sorted reads are fastest on memmaps; then unsort
    return lam * x + (1.0 - lam) * partners


@view_op(
    "noise",
    "Gaussian noise of --noise-std times each channel's std",
    keeps_labels=True,
    fields={"noise_std": (float, Field(0.1, ge=0, description="noise std as a fraction of each channel's"))},
)
def _noise(x, rng, ctx, options):
    return x + rng.normal(size=x.shape).astype(np.float32) * (options["noise_std"] * ctx.std)


def parse_ops(name: str) -> tuple[str, ...] | None:
    """`shift+mixup` -> ('shift', 'mixup') when every part is a registered op, else None."""
    parts = tuple(p.strip() for p in name.split("+"))
    if not parts or not all(p in VIEW_OPS for p in parts):
        return None
    if len(set(parts)) != len(parts):
        raise OptionError(f"--transfer {name}: each op once (e.g. shift+mixup)")
    return parts


def apply_views(ops: tuple[str, ...], x: np.ndarray, rng, ctx: ViewContext, options: dict) -> np.ndarray:
    x = np.asarray(x, np.float32)
    for name in ops:
        op = VIEW_OPS[name]
        if op.needs_axes and x.ndim < 3:
            raise OptionError(
                f"--transfer {'+'.join(ops)}: {name} needs images (N, C, H, W) or sequences (N, C, L), and these "
                f"inputs are vectors; use mixup or noise"
            )
        x = op.apply(x, rng, ctx, options)
    return np.asarray(x, np.float32)
