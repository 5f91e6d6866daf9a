"""Transfer sets: the inputs on which a student learns to mimic the teacher (neural and non-neural students alike).

`train` is the training split itself. The others keep every training sample (first, in order) and append new
inputs. What label a new input carries depends on the kind (its `keeps_labels` attribute):

- `augment` makes label-preserving copies (shifts of at most 10 % of an axis, noise of 0.1 std): each copy keeps
  its source sample's label. `--method hard` can then learn from the enlarged set, which is the baseline that
  separates the gain of augmentation from the gain of distillation. For `--method kd` the hard term sees the
  copies' labels too, as in Hinton et al.'s setting (soft and hard targets on the same transfer set).
- `munge` and `pool` add inputs labelled -1: a MUNGE mix of two samples or a pool input may belong to any class,
  so only the teacher's outputs say what they are (the KD loss ignores them in its hard part, and `--method hard`
  is refused, having nothing to learn from them).

The validation and test splits are never part of a transfer set.

Each kind is a pydantic model registered by name, so an option that does not apply gives one clear line.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache
from typing import ClassVar, Literal
from zipfile import BadZipFile

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, FilePath, create_model, field_validator, model_validator

from ..data import Normalization, fingerprint_arrays
from ..errors import DataError, OptionError
from ..params import validate_params
from .views import VIEW_OPS, ViewContext, apply_views, parse_ops, shift_batch

TRANSFERS: dict[str, type[TransferSet]] = {}
UNLABELED = -1


def transfer_kind(cls):
    if cls.name in TRANSFERS and TRANSFERS[cls.name] is not cls:
        raise ValueError(f"transfer kind {cls.name!r} is registered twice")
    TRANSFERS[cls.name] = cls
    return cls


def copy_sources(n_train: int, n_new: int) -> np.ndarray:
    """The training row each new input is made from: round robin, so every sample gets the same number of copies."""
    return np.arange(n_new) % n_train


def parse_size(value):
    """`5x` (or `5`): the transfer set is 5 times the training split, the original samples included."""
    if isinstance(value, str):
        text = value.strip().lower().removesuffix("x")
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"expected a multiple of the training split such as 5x, got {value!r}") from None
    return value


@dataclass
class TransferData:
    x: np.ndarray
    y: np.ndarray  # -1 for inputs without a label (see `TransferSet.keeps_labels`)
    info: dict


class TransferSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str]
    summary: ClassVar[str]
    default_size: ClassVar[float | None] = 5.0  # None: the whole source (pool)
    # True: every input has a label, new ones their source's (made in `copy_sources` order); False: new ones get -1.
    keeps_labels: ClassVar[bool] = False
    transfer_size: float | None = Field(
        None, ge=1.0, description="multiple of the train split, e.g. 5x (augment, munge, views: 5x)"
    )

    _parse_size = field_validator("transfer_size", mode="before")(parse_size)

    @property
    def generates(self) -> bool:
        """Whether the set holds inputs beyond the training split."""
        return True

    def n_new(self, n_train: int) -> int | None:
        factor = self.transfer_size if self.transfer_size is not None else self.default_size
        return None if factor is None else int(round((factor - 1.0) * n_train))

    def generate(self, x: np.ndarray, n_new: int | None, rng: np.random.Generator, held_out) -> np.ndarray:
        raise NotImplementedError

    def build(self, x: np.ndarray, y: np.ndarray, seed: int, held_out: tuple[np.ndarray, ...] = ()) -> TransferData:
        """The training split followed by the new inputs; the same seed gives the same set (and teacher cache)."""
        rng = np.random.default_rng([seed, 7919])  # its own stream: the set does not shift with other seeded draws
        new = self.generate(x, self.n_new(len(x)), rng, held_out) if self.generates else x[:0]
        new = np.asarray(new, dtype=np.float32)
        if len(new):
            y = np.asarray(y, np.int64)
            new_y = y[copy_sources(len(x), len(new))] if self.keeps_labels else np.full(len(new), UNLABELED, np.int64)
            x = np.concatenate([np.asarray(x, np.float32), new])
            y = np.concatenate([y, new_y])
        return TransferData(x, y, self.record(x, len(new)))

    def record(self, x: np.ndarray, generated: int) -> dict:
        """What the run's manifest says of the set: kind, options, size, new inputs and the inputs' fingerprint."""
        return {
            "kind": self.name,
            **self.model_dump(mode="json", exclude_none=True),
            "size": int(len(x)),
            "generated": int(generated),
            "fingerprint": fingerprint_arrays(x),
        }


@transfer_kind
class Train(TransferSet):
    name: ClassVar[str] = "train"
    summary: ClassVar[str] = "the training split as it is"
    default_size: ClassVar[float] = 1.0
    keeps_labels: ClassVar[bool] = True

    @field_validator("transfer_size")
    @classmethod
    def _only_itself(cls, value):
        if value is not None and value != 1.0:
            raise ValueError("--transfer train is the training split itself; to enlarge it use augment, munge or pool")
        return value

    @property
    def generates(self) -> bool:
        return False


@transfer_kind
class Augment(TransferSet):
    name: ClassVar[str] = "augment"
    summary: ClassVar[str] = "copies with small shifts (images, sequences) and Gaussian noise, labels kept"
    keeps_labels: ClassVar[bool] = True  # a shift of <= 10 % and noise of 0.1 std leave the class as it was
    noise: ClassVar[float] = 0.1  # noise std as a fraction of each channel's std
    max_shift: ClassVar[float] = 0.1  # largest shift as a fraction of the axis length (at least 1 step)

    def generate(self, x, n_new, rng, held_out):
        source = copy_sources(len(x), n_new)  # build() labels each copy by the same rows
        new = np.asarray(x, np.float32)[source].copy()
        if x.ndim > 2:  # images and sequences: shift along the spatial axes
            limits = [max(1, int(round(self.max_shift * x.shape[a]))) for a in range(2, x.ndim)]
            new = shift_batch(new, limits, rng)
        std = Normalization.fit(np.asarray(x, np.float32)).std
        return new + rng.normal(size=new.shape).astype(np.float32) * (self.noise * std)


@transfer_kind
class Munge(TransferSet):
    """Bucila et al. 2006: for a sample e and its nearest neighbour e', each attribute is, with probability p,
    replaced by a draw from N(e'_a, |e_a - e'_a| / s); neighbours are found in the standardized input space."""

    name: ClassVar[str] = "munge"
    summary: ClassVar[str] = "Bucila et al.: mix each sample with its nearest neighbour (--munge-p, --munge-s)"
    munge_p: float = Field(0.5, gt=0, le=1, description="MUNGE swap probability")
    munge_s: float = Field(1.0, gt=0, description="MUNGE local spread divisor")

    def generate(self, x, n_new, rng, held_out):
        from sklearn.neighbors import NearestNeighbors

        flat = np.asarray(x, np.float64).reshape(len(x), -1)
        mean, std = flat.mean(axis=0), flat.std(axis=0)
        z = (flat - mean) / np.where(std > 0, std, 1.0)
        _, idx = NearestNeighbors(n_neighbors=2).fit(z).kneighbors(z)
        # the nearest point is the sample itself, unless a duplicate came first
        neighbour = np.where(idx[:, 0] == np.arange(len(z)), idx[:, 1], idx[:, 0])
        source = copy_sources(len(z), n_new)
        e, e_nn = z[source], z[neighbour[source]]
        swap = rng.random(e.shape) < self.munge_p
        draw = rng.normal(e_nn, np.abs(e - e_nn) / self.munge_s)
        new = np.where(swap, draw, e) * np.where(std > 0, std, 1.0) + mean
        return new.reshape((n_new, *x.shape[1:]))


@transfer_kind
class Pool(TransferSet):
    name: ClassVar[str] = "pool"
    summary: ClassVar[str] = "unlabeled inputs from an .npz file (--pool x.npz, array 'x')"
    default_size: ClassVar[float | None] = None  # the whole pool
    pool: FilePath = Field(description="unlabeled inputs: .npz with array x")

    def generate(self, x, n_new, rng, held_out):
        inputs = self._read(tuple(x.shape[1:]))
        inputs = self._without(inputs, held_out)
        if n_new is None:
            return inputs
        if n_new > len(inputs):
            raise DataError(
                f"{self.pool}: {len(inputs)} usable inputs, but --transfer-size {self.transfer_size:g}x needs "
                f"{n_new}; pass a smaller --transfer-size or a larger pool"
            )
        return inputs[np.sort(rng.choice(len(inputs), size=n_new, replace=False))]

    def _read(self, sample_shape: tuple[int, ...]) -> np.ndarray:
        try:
            with np.load(self.pool, allow_pickle=False) as f:
                if "x" not in f.files:
                    raise DataError(f"{self.pool}: no array 'x'; save the unlabeled inputs as np.savez(path, x=inputs)")
                inputs = f["x"]
        except (ValueError, OSError, EOFError, BadZipFile, zlib.error) as exc:  # the last two: a cut-off file
            raise DataError(f"{self.pool}: not a readable .npz of numeric arrays ({exc})") from None
        if tuple(inputs.shape[1:]) != sample_shape:
            raise DataError(
                f"{self.pool}: inputs of shape {tuple(inputs.shape[1:])} per sample, but the data set has "
                f"{sample_shape}; the pool must hold inputs like the training data"
            )
        if inputs.dtype.kind not in "biuf" or not np.all(np.isfinite(inputs)):
            raise DataError(f"{self.pool}: inputs must be finite numbers")
        return inputs.astype(np.float32)

    @staticmethod
    def _without(inputs: np.ndarray, held_out) -> np.ndarray:
        """Drop pool rows identical to a validation or test input: those splits never feed training."""
        if not held_out:
            return inputs
        seen = {row.tobytes() for part in held_out for row in np.asarray(part, np.float32).reshape(len(part), -1)}
        keep = [row.tobytes() not in seen for row in inputs.reshape(len(inputs), -1)]
        return inputs[np.asarray(keep, bool)]


class Views(TransferSet):
    """Inputs transformed by registered view ops (`kdedge.distillation.views`), e.g. `shift+mixup`.

    `teacher_mode = "cached"`: a fixed set of `--transfer-size` times the training split (the split first), labelled
    by the teacher once. `"online"`: no fixed set; every training batch is drawn from the training split and
    transformed afresh, and the teacher labels exactly that batch (neural students only).
    """

    ops: ClassVar[tuple[str, ...]] = ()
    teacher_mode: Literal["cached", "online"] = Field(
        "cached",
        description="cached: a fixed set of --transfer-size, labelled once; online: new views every batch, the "
        "teacher labels each (neural students)",
    )

    @model_validator(mode="after")
    def _online_has_no_size(self):
        if self.teacher_mode == "online" and self.transfer_size is not None:
            raise ValueError(
                "--teacher-mode online draws new views for every batch, so there is no set to size; drop "
                "--transfer-size (each epoch is one pass over the training split)"
            )
        return self

    @property
    def online(self) -> bool:
        return self.teacher_mode == "online"

    def view_options(self) -> dict:
        return {k: getattr(self, k) for op in self.ops for k in VIEW_OPS[op].fields}

    def context(self, x_train: np.ndarray, partners_from_set: bool) -> ViewContext:
        std = Normalization.fit(np.asarray(x_train[: min(len(x_train), 20_000)], np.float32)).std
        return ViewContext(std=std, partners=x_train if partners_from_set else None)

    def apply(self, x: np.ndarray, rng, ctx: ViewContext) -> np.ndarray:
        return apply_views(self.ops, x, rng, ctx, self.view_options())

    def build(self, x, y, seed, held_out=()):
        """Online: the training split alone (views are drawn per batch). Cached: the split, then `n_new` views
        written straight into one preallocated array, so a 20x or 50x set needs no second copy in memory."""
        x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
        if self.online:
            return TransferData(x, y, self.record(x, 0))
        n_new = self.n_new(len(x))
        rng = np.random.default_rng([seed, 7919])  # as TransferSet.build: its own stream
        ctx = self.context(x, partners_from_set=True)
        source = copy_sources(len(x), n_new)
        out = np.empty((len(x) + n_new, *x.shape[1:]), np.float32)
        out[: len(x)] = x
        for start in range(0, n_new, 8192):  # bounded temporaries, whatever the set's size
            rows = source[start : start + 8192]
            out[len(x) + start : len(x) + start + len(rows)] = self.apply(x[rows], rng, ctx)
        new_y = y[source] if self.keeps_labels else np.full(n_new, UNLABELED, np.int64)
        return TransferData(out, np.concatenate([y, new_y]), self.record(out, n_new))


@cache
def _views_class(ops: tuple[str, ...]) -> type[Views]:
    fields = {key: spec for op in ops for key, spec in VIEW_OPS[op].fields.items()}
    cls = create_model(f"Views[{'+'.join(ops)}]", __base__=Views, **fields)
    cls.name = "+".join(ops)
    cls.ops = ops
    cls.keeps_labels = all(VIEW_OPS[op].keeps_labels for op in ops)
    cls.summary = "; then ".join(VIEW_OPS[op].summary for op in ops)
    return cls


for _op in VIEW_OPS:  # each op alone is a transfer kind; combinations are resolved by transfer_class
    TRANSFERS[_op] = _views_class((_op,))


def transfer_class(name: str) -> type[TransferSet]:
    """A registered kind (train, augment, munge, pool, shift, mixup...) or a combination of view ops."""
    from ..plugins import load_plugins

    load_plugins()
    if name in TRANSFERS:
        return TRANSFERS[name]
    ops = parse_ops(name)
    if ops is None:
        raise OptionError(
            f"unknown --transfer {name!r}; choose from {', '.join(TRANSFERS)}, or combine "
            f"{', '.join(VIEW_OPS)} with + (e.g. shift+mixup)"
        )
    return _views_class(ops)


def transfer_option_names() -> set[str]:
    """Every option some transfer kind or view op takes (plus `transfer`, the kind itself)."""
    names = {"transfer"} | {k for cls in TRANSFERS.values() for k in cls.model_fields}
    return names | {k for op in VIEW_OPS.values() for k in op.fields}


def make_transfer(name: str = "train", **options) -> TransferSet:
    return validate_params(transfer_class(name), options, f"--transfer {name}")


def check_online_fits(transfer: TransferSet, method, neural: bool) -> None:
    """Online teaching runs the teacher inside a torch student's training loop, one loss on logits per batch."""
    if not getattr(transfer, "online", False):
        return
    if not neural:
        raise OptionError(
            "--teacher-mode online trains inside a neural student's loop; non-neural students learn from a fixed "
            f"set: use --teacher-mode cached with --transfer {transfer.name} --transfer-size 10x"
        )
    if method.needs_features:
        raise OptionError(
            f"--method {method.name} has a feature stage that reads a fixed set; use --teacher-mode cached, or "
            "--method kd / logits online"
        )


def check_method_fits(transfer: TransferSet, method) -> None:
    """`--method hard` learns from labels, and the inputs munge and pool add have none."""
    if not transfer.keeps_labels and not method.needs_teacher:
        labelled = " or ".join(name for name, kind in TRANSFERS.items() if kind.keeps_labels)
        raise OptionError(
            f"--method {method.name} learns from labels only, and the inputs --transfer {transfer.name} adds have "
            f"none; use --transfer {labelled}, or a method that learns from the teacher (kd, logits, softmax)"
        )
