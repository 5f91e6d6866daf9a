"""What the non-neural families (svm, forest, gbdt, tree) share.

Fukui et al.: regress the teacher's outputs (one score per class) and predict by argmax; the `hard` baseline is the
same family as a plain classifier on the labels. Inputs are flattened. Regression targets are standardized with ONE
global mean and std: that keeps each row's argmax and keeps tempered-softmax targets (all near 1/K) from sitting
inside an SVR's epsilon tube, where every regressor collapses to a constant. The scores a student reports are the
regressed standardized targets (or the classifier's probabilities / decision values), exactly what its ONNX graph
outputs as `scores`.
"""

from __future__ import annotations

import sys
import time
from abc import abstractmethod
from dataclasses import dataclass
from functools import cache, singledispatch
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .._io import read_json, write_json
from ..errors import DataError, RunError
from ..feature_maps import FeatureMap, check_name, feature_map
from .base import Student, Tolerance

META_FILE = "nonneural.json"
PIPELINE_FILE = "pipeline.skops"

# Every type kdedge itself writes into a .skops file beyond skops' defaults. Loading trusts these and nothing
# else: trusting whatever `get_untrusted_types` reports for a user's file would trust anything in it.
SKOPS_TRUSTED = [
    "sklearn.tree._tree.Tree",
]


def flatten(x: np.ndarray) -> np.ndarray:
    """(N, *sample_shape) -> (N, D) float32, the layout every non-neural model sees (and the ONNX Flatten makes)."""
    x = np.asarray(x)
    return np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)


def warn(message: str) -> None:
    """One line on stderr: library code has no console of its own, and stdout stays clean for tables and JSON."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class TargetScale:
    """One mean and one std over all targets (not per class), so the argmax of every row is unchanged."""

    mean: float
    std: float

    @classmethod
    def fit(cls, targets: np.ndarray) -> TargetScale:
        std = float(np.std(targets))
        return cls(float(np.mean(targets)), std if std > 1e-12 else 1.0)

    def apply(self, targets: np.ndarray) -> np.ndarray:
        return ((np.asarray(targets, np.float64) - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std}


class NonNeuralParams(BaseModel):
    """What every non-neural family takes: the fixed map its inputs go through (kdedge.feature_maps)."""

    model_config = ConfigDict(extra="forbid")
    features: str = Field(
        "raw", description="input map: raw, or spectrum (shift-invariant |DFT| of images and sequences)"
    )

    @field_validator("features")
    @classmethod
    def _known_map(cls, value):
        return check_name(value)


class NonNeuralStudent(Student):
    """Fit/score/save/export skeleton; a family supplies its estimators, storage and ONNX converter name."""

    parity_tolerance: ClassVar[Tolerance] = Tolerance(rtol=1e-3, atol=1e-4, min_label_agreement=0.999)
    exporter: ClassVar[str]  # key into kdedge.convert.nonneural.CORE_CONVERTERS

    def __init__(self, params, sample_shape, n_classes, normalization):
        super().__init__(params, sample_shape, n_classes, normalization)
        # a plug-in family's own Params may not know `features`: its inputs go in as they are
        self.feature_map: FeatureMap = feature_map(getattr(params, "features", "raw"), self.sample_shape)
        self.model = None
        self.target_scale: TargetScale | None = None  # None: a classifier on labels (method hard)

    # -- what a family provides --
    @abstractmethod
    def fit_classifier(self, x: np.ndarray, y: np.ndarray, seed: int):
        """A fitted classifier on labels (the `hard` baseline)."""

    @abstractmethod
    def fit_regressor(self, x: np.ndarray, targets: np.ndarray, seed: int):
        """A fitted regressor from x (N, D) to standardized targets (N, K)."""

    def fit_soft(self, x: np.ndarray, soft: np.ndarray, y: np.ndarray, method, seed: int):
        """A fitted classifier whose objective was the teacher's softened distribution (learns_soft_labels)."""
        raise NotImplementedError(f"the {self.family} family does not learn from soft labels")

    @abstractmethod
    def model_scores(self, x: np.ndarray) -> np.ndarray:
        """(N, K) scores of the fitted model on flattened inputs."""

    @abstractmethod
    def save_model(self, directory: Path) -> list[str]: ...

    @abstractmethod
    def load_model(self, directory: Path, meta: dict) -> None: ...

    @abstractmethod
    def export_parts(self):
        """What the registered core converter `exporter` takes."""

    # -- shared --
    def fit(self, method, train, val, seed: int) -> dict:
        x = self.feature_map(flatten(train.x))
        soft = method.soft_labels(train.teacher_logits) if self.learns_soft_labels else None
        targets = None if soft is not None else method.regression_targets(train.teacher_logits)
        start = time.perf_counter()
        if soft is not None:
            self.target_scale = None  # a classifier whose objective was the teacher's distribution
            self.model = self.fit_soft(x, soft, np.asarray(train.y), method, seed)
        elif targets is None:
            keep = self._labelled_rows(np.asarray(train.y))
            self.target_scale = None
            self.model = self.fit_classifier(x[keep], np.asarray(train.y)[keep], seed)
        else:
            self.target_scale = TargetScale.fit(targets)
            self.model = self.fit_regressor(x, self.target_scale.apply(targets), seed)
        fit_seconds = time.perf_counter() - start
        # Nothing is selected here (the options are the user's), so val only reports how the fit generalizes.
        val_pred = self.predict(val.x)
        info = {
            "val_accuracy": float(np.mean(val_pred == np.asarray(val.y))),
            "fit_seconds": round(fit_seconds, 3),
            "transfer_samples": int(len(x)),
            "targets": (
                "soft labels"
                if soft is not None
                else "labels"
                if self.target_scale is None
                else self.target_scale.to_dict()
            ),
        }
        if val.teacher_logits is not None:
            info["val_agreement_with_teacher"] = float(np.mean(val_pred == np.argmax(val.teacher_logits, axis=1)))
        return info

    def _labelled_rows(self, y: np.ndarray) -> np.ndarray:
        keep = y >= 0
        present = np.unique(y[keep])
        if len(present) < self.n_classes:
            raise DataError(
                f"--method hard needs labelled samples of all {self.n_classes} classes, found {len(present)}; "
                "use a transfer set with labels (--transfer train) or a teacher method (logits, softmax)"
            )
        return keep

    def scores(self, x: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RunError(f"the {self.family} student is not fitted; fit it or load a run first")
        return np.asarray(self.model_scores(self.feature_map(flatten(x))), np.float32)

    def save(self, directory: Path) -> list[str]:
        files = self.save_model(Path(directory))
        meta = {
            "family": self.family,
            "mode": "classifier" if self.target_scale is None else "regressor",
            "target_scale": None if self.target_scale is None else self.target_scale.to_dict(),
            "features": self.feature_map.name,
            "n_features": self.feature_map.n_outputs,
            "files": files,
        }
        write_json(Path(directory) / META_FILE, meta)
        return [*files, META_FILE]

    @classmethod
    def load(cls, directory, params, sample_shape, n_classes, normalization):
        directory = Path(directory)
        if not (directory / META_FILE).is_file():
            raise RunError(f"{directory}: no {META_FILE}; the run is incomplete, recreate it with 'kdedge distill'")
        meta = read_json(directory / META_FILE)
        student = cls(params, sample_shape, n_classes, normalization)
        scale = meta.get("target_scale")
        student.target_scale = None if scale is None else TargetScale(float(scale["mean"]), float(scale["std"]))
        student.load_model(directory, meta)
        return student

    @property
    def is_classifier(self) -> bool:
        return self.target_scale is None

    @property
    def n_params(self) -> int:
        return count_params(self.model)


class PipelineStudent(NonNeuralStudent):
    """A scikit-learn Pipeline, stored with skops and converted by skl2onnx.

    `scale_inputs`: a StandardScaler first (SVMs need it). Tree families leave it out: splits do not care about
    per-feature scaling, and a float32 scaler in the graph moves discrete inputs (pixel values) exactly onto split
    thresholds that scikit-learn compares in float64, which broke parity on digits.
    """

    exporter: ClassVar[str] = "sklearn"
    scale_inputs: ClassVar[bool] = True

    @abstractmethod
    def classifier(self, seed: int, n_samples: int):
        """An unfitted scikit-learn classifier for the `hard` baseline."""

    @abstractmethod
    def regressor(self, seed: int, n_samples: int):
        """An unfitted scikit-learn regressor for (N, K) targets."""

    def pipeline(self, final, x: np.ndarray, seed: int):
        """The unfitted pipeline around `final` (x: the flattened transfer set, for steps that depend on it)."""
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        steps = [("scale", StandardScaler())] if self.scale_inputs else []
        return Pipeline([*steps, ("model", final)])

    def fit_classifier(self, x, y, seed):
        return self.pipeline(self.classifier(seed, len(x)), x, seed).fit(x, y)

    def fit_regressor(self, x, targets, seed):
        return self.pipeline(self.regressor(seed, len(x)), x, seed).fit(x, targets)

    def model_scores(self, x):
        if not self.is_classifier:
            return self.model.predict(x).reshape(len(x), -1)
        # The same numbers skl2onnx puts in its `probabilities` output: probabilities where the classifier has
        # them, else one-vs-rest decision values (SVC without probability=True).
        if hasattr(self.model, "predict_proba"):
            return self.model.predict_proba(x)
        return self.model.decision_function(x)

    def save_model(self, directory):
        import skops.io

        from .skops_bytes import canonical

        (directory / PIPELINE_FILE).write_bytes(canonical(skops.io.dumps(self.model)))  # same model, same bytes
        return [PIPELINE_FILE]

    def load_model(self, directory, meta):
        self.model = load_skops(directory / PIPELINE_FILE)

    def export_parts(self):
        return self.model


def load_skops(path: Path):
    """A .skops file with only the types kdedge writes; anything else is refused, never trusted."""
    import skops.io

    if not path.is_file():
        raise RunError(f"{path}: missing; the run is incomplete, recreate it with 'kdedge distill'")
    unexpected = sorted(set(skops.io.get_untrusted_types(file=path)) - set(SKOPS_TRUSTED))
    if unexpected:
        raise RunError(
            f"{path}: holds types kdedge does not write ({', '.join(unexpected[:5])}); refusing to load it — "
            "recreate the run with 'kdedge distill'"
        )
    model = skops.io.load(path, trusted=SKOPS_TRUSTED)
    if not hasattr(model, "predict"):  # trusted types can still make a plain dict or list
        raise RunError(
            f"{path}: holds a {type(model).__name__}, not a fitted model; recreate the run with 'kdedge distill'"
        )
    return model


# -- learned numbers per estimator type: a registry by type; families register their own model types --
@singledispatch
def param_count(model) -> int:
    raise TypeError(f"no parameter count for {type(model).__name__}")


def count_params(model) -> int:
    _register_sklearn_counts()
    return param_count(model)


@cache
def _register_sklearn_counts() -> None:
    """Registered on first use, so that importing kdedge.students does not import scikit-learn."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.kernel_approximation import Nystroem
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    @param_count.register(Pipeline)
    def _(model):
        return sum(param_count(step) for _, step in model.steps)

    @param_count.register(StandardScaler)
    def _(model):
        return 2 * int(model.n_features_in_)

    @param_count.register(SVR)
    @param_count.register(SVC)
    def _(model):
        return int(model.support_vectors_.size + model.dual_coef_.size + np.size(model.intercept_))

    @param_count.register(MultiOutputRegressor)
    def _(model):
        if all(isinstance(e, SVR) for e in model.estimators_):
            # the ONNX graph stores each support vector once, shared by the per-class SVRs
            n_vectors = len(np.unique(np.concatenate([e.support_ for e in model.estimators_])))
            n_features = model.estimators_[0].support_vectors_.shape[1]
            return n_vectors * (n_features + len(model.estimators_)) + len(model.estimators_)
        return sum(param_count(e) for e in model.estimators_)

    @param_count.register(RandomForestRegressor)
    @param_count.register(RandomForestClassifier)
    def _(model):
        return sum(param_count(e) for e in model.estimators_)

    @param_count.register(DecisionTreeRegressor)
    @param_count.register(DecisionTreeClassifier)
    def _(model):
        tree = model.tree_
        leaves = int(np.sum(tree.children_left < 0))
        # a split stores a feature and a threshold; a leaf its values (one per output and class)
        return 2 * (tree.node_count - leaves) + leaves * int(np.prod(tree.value.shape[1:]))

    @param_count.register(Nystroem)
    def _(model):
        return int(model.components_.size + model.normalization_.size)

    @param_count.register(Ridge)
    @param_count.register(LogisticRegression)
    def _(model):
        return int(np.size(model.coef_) + np.size(model.intercept_))
