"""Ensembles: several finished runs combined into one run that exports as ONE ONNX graph.

Votes:
- mean: scores = log of the mean of the members' softmax(scores). Averaging probabilities (not raw scores) puts
  members of any family and scale on one footing, and the log makes the scores logits again, so an ensemble can
  teach (`--teacher ENSEMBLE_RUN`: softmax(scores) is exactly the averaged distribution). The mean is clipped at
  1e-30 so the log stays finite.
- majority: scores = how many members voted for each class (float counts); label = the most voted class, ties to
  the lowest class index (ArgMax and numpy agree on that).

An ensemble run is self-contained: the members' run directories (manifest + weights) are copied into
RUN/members/, and the ensemble loads them from there.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..errors import DataError, OptionError
from ..params import validate_params
from .base import Student, Tolerance, load_student, register

MEMBERS_DIR = "members"
MIN_PROB = 1e-30


class EnsembleParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vote: Literal["mean", "majority"] = Field("mean", description="mean of softmax, or majority vote")
    members: tuple[str, ...] = Field(default=(), description="member run directories, relative to the ensemble run")


def softmax(scores: np.ndarray) -> np.ndarray:
    z = np.exp(scores - scores.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def combine(member_scores: list[np.ndarray], vote: str, n_classes: int) -> np.ndarray:
    """The ensemble's scores from its members' scores (what the ONNX graph computes)."""
    if vote == "mean":
        mean = np.mean([softmax(np.asarray(s, np.float64)) for s in member_scores], axis=0)
        return np.log(np.maximum(mean, MIN_PROB)).astype(np.float32)
    votes = np.zeros((len(member_scores[0]), n_classes), np.float32)
    for s in member_scores:
        votes[np.arange(len(s)), np.argmax(s, axis=1)] += 1.0
    return votes


@register
class EnsembleStudent(Student):
    family: ClassVar[str] = "ensemble"
    summary: ClassVar[str] = "several runs voting as one (kdedge ensemble RUN... --vote mean|majority)"
    Params = EnsembleParams
    distilled: ClassVar[bool] = False

    def __init__(self, params, sample_shape, n_classes, normalization):
        super().__init__(params, sample_shape, n_classes, normalization)
        self.members: list[Student] = []
        self.sources: list[Path] = []  # the members' run directories, copied by save()

    def fit(self, method, train, val, seed, *, teacher=None) -> dict:
        raise OptionError("an ensemble is not trained: combine finished runs with 'kdedge ensemble RUN... --out DIR'")

    def scores(self, x: np.ndarray) -> np.ndarray:
        return combine([m.scores(x) for m in self.members], self.params.vote, self.n_classes)

    def save(self, directory: Path) -> list[str]:
        written = []
        for source, name in zip(self.sources, self.params.members, strict=True):
            target = Path(directory) / name
            # Teacher-target caches and exported graphs are derived data; the manifest and weights are the run.
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("targets", "*.onnx", ".*"))
            written += [str(p.relative_to(directory)) for p in sorted(target.rglob("*")) if p.is_file()]
        return written

    @classmethod
    def load(cls, directory, params, sample_shape, n_classes, normalization):
        from ..runs import Run

        ensemble = cls(params, sample_shape, n_classes, normalization)
        ensemble.sources = [Path(directory) / name for name in params.members]
        ensemble.members = [load_student(Run.load(path)) for path in ensemble.sources]
        return ensemble

    @property
    def n_params(self) -> int:
        return int(sum(m.n_params for m in self.members))

    @property
    def parity_tolerance(self):
        """The loosest of the members' tolerances: the ensemble's graph is theirs plus exact arithmetic."""
        tols = [m.parity_tolerance for m in self.members]
        return Tolerance(
            rtol=max(t.rtol for t in tols),
            atol=max(t.atol for t in tols),
            min_label_agreement=min(t.min_label_agreement for t in tols),
        )


def _check_same_data(runs) -> None:
    first = runs[0].manifest.data
    for run in runs[1:]:
        data = run.manifest.data
        if data.fingerprint != first.fingerprint or data.class_names != first.class_names:
            raise DataError(
                f"{run.path} was trained on other data, classes or split than {runs[0].path}; "
                "an ensemble needs members made from the same data and --seed"
            )


def _common_teacher(runs) -> dict | None:
    teachers = [r.manifest.teacher for r in runs]
    fingerprints = {None if t is None else t.get("fingerprint") for t in teachers}
    return teachers[0] if len(fingerprints) == 1 else None


def build_ensemble(runs, vote: str, out, best: int | None = None, overwrite: bool = False):
    """Combine finished runs into an ensemble run at `out`. With `best`, keep the `best` members with the highest
    validation accuracy (ties keep the given order). Returns the new Run."""
    from .._io import atomic_dir, write_json
    from ..manifest import Manifest, StudentRecord
    from ..outputs import check_not_input
    from ..runs import METRICS, Run, now, sha256_files, versions

    validate_params(EnsembleParams, {"vote": vote}, "kdedge ensemble")  # --vote checked before any work
    runs = [r if isinstance(r, Run) else Run.load(r) for r in runs]
    if not runs:
        raise OptionError("kdedge ensemble needs at least one run")
    if best is not None and not 1 <= best <= len(runs):
        raise OptionError(f"--best {best}: choose between 1 and the number of runs given ({len(runs)})")
    check_not_input(out, [r.path for r in runs], "member run")  # copied in, so it must outlive the swap
    _check_same_data(runs)
    dataset = runs[0].dataset()
    (x_val, y_val), (x_test, y_test) = dataset.split("val"), dataset.split("test")
    students = [load_student(r) for r in runs]
    val_acc = [float(np.mean(s.predict(x_val) == y_val)) for s in students]
    order = sorted(range(len(runs)), key=lambda i: -val_acc[i])  # stable: ties keep the given order
    kept = sorted(order[:best]) if best is not None else list(range(len(runs)))

    names = [f"{MEMBERS_DIR}/{n:02d}-{runs[i].name}" for n, i in enumerate(kept)]
    params = EnsembleParams(vote=vote, members=tuple(names))
    ensemble = EnsembleStudent(params, dataset.sample_shape, dataset.n_classes, dataset.normalization)
    ensemble.members = [students[i] for i in kept]
    ensemble.sources = [runs[i].path for i in kept]
    out = Path(out)
    with atomic_dir(out, overwrite=overwrite) as tmp:
        files = ensemble.save(tmp)
        # Selection used val only; the test split is touched once, here, for the final figure.
        metrics = {
            "val_accuracy": float(np.mean(ensemble.predict(x_val) == y_val)),
            "test_accuracy": float(np.mean(ensemble.predict(x_test) == y_test)),
            "members": [
                {"run": str(r.path.resolve()), "val_accuracy": val_acc[i], "kept": i in kept}
                for i, r in enumerate(runs)
            ],
        }
        Manifest(
            kind="student",
            family="ensemble",
            created=now(),
            seed=runs[0].manifest.seed,
            student=StudentRecord(family="ensemble", params=params.model_dump(mode="json"), n_params=ensemble.n_params),
            method={"name": "ensemble", "vote": vote, "best": best},
            data=runs[0].manifest.data,
            teacher=_common_teacher([runs[i] for i in kept]),
            weights=files,
            weights_sha256=sha256_files(tmp, files),
            metrics=metrics,
            versions=versions(),
        ).write(tmp)
        write_json(tmp / METRICS, metrics)
    return Run.load(out)
