"""`--student gbdt`: one LightGBM regressor per class on the teacher's outputs (hard: one multiclass LGBMClassifier).

Stored in LightGBM's own text format (no pickle), one model file per booster.
"""

from __future__ import annotations

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


@register
class GBDTStudent(NonNeuralStudent):
    family: ClassVar[str] = "gbdt"
    summary: ClassVar[str] = "LightGBM regressor per class on teacher outputs (hard: LGBMClassifier)"
    Params = GBDTParams
    exporter: ClassVar[str] = "lightgbm"

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

        return Boosters([LGBMClassifier(**self._args(seed)).fit(x, y).booster_])

    def fit_regressor(self, x, targets, seed):
        from lightgbm import LGBMRegressor

        return Boosters(
            LGBMRegressor(**self._args(seed)).fit(x, targets[:, k]).booster_ for k in range(targets.shape[1])
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
