"""`--student gbdt`: one LightGBM regressor per class on the teacher's outputs (hard: one multiclass LGBMClassifier;
kd: one multiclass booster whose objective is Hinton's loss on the teacher's softened outputs, soft_boosting.py).

Stored in LightGBM's own text format (no pickle), one model file per booster.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import Field

from ..errors import RunError
from .base import register
from .sklearn_base import NonNeuralParams, NonNeuralStudent, param_count


class GBDTParams(NonNeuralParams):
    num_leaves: int = Field(31, ge=2, description="leaves per tree")
    n_estimators: int = Field(100, ge=1, description="boosting rounds (trees per class)")
    learning_rate: float = Field(0.1, gt=0, le=1, description="shrinkage")


class Boosters(list):
    """The fitted LightGBM boosters: K regressors (one column of scores each) or one multiclass classifier.

    Trees need no input scaling (splits are invariant to it), so there is no scaler in front.
    """


@param_count.register(Boosters)
def _(model):
    total = 0
    for booster in model:
        for tree in booster.dump_model()["tree_info"]:
            leaves = int(tree["num_leaves"])
            total += 2 * (leaves - 1) + leaves  # splits: feature + threshold; leaves: one value
    return total


def as_multiclass(model_text: str, n_classes: int) -> str:
    """A custom-objective booster's text, declared a multiclass one: LightGBM writes no `objective=` header for a
    custom objective (and `[objective: custom]` among the parameters), which is what both loaders read."""
    header = f"objective=multiclass num_class:{n_classes}"
    lines = model_text.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("max_feature_idx="))
    if not any(line.startswith("objective=") for line in lines[: at + 2]):
        lines.insert(at + 1, header)
    return "\n".join(lines).replace("[objective: custom]", "[objective: multiclass]", 1)


@register
class GBDTStudent(NonNeuralStudent):
    family: ClassVar[str] = "gbdt"
    summary: ClassVar[str] = "LightGBM regressor per class on teacher outputs (hard: LGBMClassifier; kd: soft labels)"
    Params = GBDTParams
    exporter: ClassVar[str] = "lightgbm"
    learns_soft_labels: ClassVar[bool] = True  # --method kd: one multiclass booster on the teacher's distribution

    def _args(self, seed: int) -> dict:
        p = self.params
        return {
            "num_leaves": p.num_leaves,
            "n_estimators": p.n_estimators,
            "learning_rate": p.learning_rate,
            "random_state": seed,
            "n_jobs": 1,  # with deterministic=True: the same trees for the same seed
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }

    def fit_classifier(self, x, y, seed):
        from lightgbm import LGBMClassifier

        with _rounds("gbdt · hard", self.params.n_estimators) as each_round:
            return Boosters([LGBMClassifier(**self._args(seed)).fit(x, y, callbacks=[each_round]).booster_])

    def fit_soft(self, x, soft, y, method, seed):
        import lightgbm

        from .soft_boosting import lightgbm_objective

        k = self.n_classes
        args = self._args(seed)
        params = {
            "objective": lightgbm_objective(soft, y, method.temperature, method.alpha),
            "num_class": k,
            "num_leaves": args["num_leaves"],
            "learning_rate": args["learning_rate"],
            "seed": seed,
            "num_threads": 1,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }
        data = lightgbm.Dataset(x, label=np.argmax(soft, axis=1))  # labels unused by a custom objective
        with _rounds(f"gbdt · {method.name}", args["n_estimators"]) as each_round:
            booster = lightgbm.train(params, data, num_boost_round=args["n_estimators"], callbacks=[each_round])
        # Its raw scores are a multiclass booster's: said so in its own text, it predicts probabilities (softmax of
        # the raw scores, as the hard classifier does) and converts to ONNX and C like one.
        return Boosters([lightgbm.Booster(model_str=as_multiclass(booster.model_to_string(), k))])

    def fit_regressor(self, x, targets, seed):
        from lightgbm import LGBMRegressor

        k = targets.shape[1]
        with _rounds(f"gbdt · one booster per class ({k})", k * self.params.n_estimators) as each_round:
            return Boosters(
                [
                    LGBMRegressor(**self._args(seed)).fit(x, targets[:, c], callbacks=[each_round]).booster_
                    for c in range(k)
                ]
            )

    def model_scores(self, x):
        if self.is_classifier:
            return self.model[0].predict(x)
        return np.stack([booster.predict(x) for booster in self.model], axis=1)

    def save_model(self, directory: Path) -> list[str]:
        names = [f"gbdt_{i}.txt" for i in range(len(self.model))]
        for booster, name in zip(self.model, names, strict=True):
            booster.save_model(str(directory / name))
        return names

    def load_model(self, directory: Path, meta: dict) -> None:
        import lightgbm

        files = [directory / name for name in meta["files"]]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise RunError(f"{directory}: missing {', '.join(missing)}; recreate the run with 'kdedge distill'")
        texts = [f.read_text(encoding="utf-8", errors="replace") for f in files]
        for f, text in zip(files, texts, strict=True):
            # LightGBM's parser aborts the whole process on a cut-off file: check the end markers it writes first
            if "end of trees" not in text or "end of parameters" not in text:
                raise RunError(
                    f"{f}: truncated LightGBM model (no end markers); recreate the run with 'kdedge distill'"
                )
        self.model = Boosters(lightgbm.Booster(model_str=text) for text in texts)

    def export_parts(self):
        return list(self.model)


@contextlib.contextmanager
def _rounds(label: str, total: int):
    """A LightGBM callback that advances one progress bar (or log line, off a terminal) per boosting round: a fit on
    a 5x transfer set takes tens of minutes."""
    from ..progress import progress_bar

    with progress_bar(f"{label} round", total) as advance:
        yield lambda env: advance()
