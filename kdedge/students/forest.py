"""`--student forest`: one random forest regressing all K teacher outputs at once (hard: RandomForestClassifier)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from .base import register
from .sklearn_base import NonNeuralParams, PipelineStudent


class ForestParams(NonNeuralParams):
    n_estimators: int = Field(100, ge=1, description="trees")
    max_depth: int | None = Field(None, ge=1, description="tree depth (default: until leaves are pure)")


@register
class ForestStudent(PipelineStudent):
    family: ClassVar[str] = "forest"
    summary: ClassVar[str] = "random forest regressing all teacher outputs (hard: RandomForestClassifier)"
    Params = ForestParams
    scale_inputs: ClassVar[bool] = False

    def _args(self, seed: int) -> dict:
        p = self.params
        return {
            "n_estimators": p.n_estimators,
            "max_depth": p.max_depth,
            # scikit-learn's regressor defaults to all features per split, its classifier to sqrt: with the same
            # sqrt for both, hard vs distilled compares targets, not randomization (all features cost the
            # regressor 2-3 points on digits: its trees were too alike)
            "max_features": "sqrt",
            "random_state": seed,
            "n_jobs": 1,  # the same numbers on every machine, and fair to whatever else runs on a small board
        }

    def classifier(self, seed, n_samples):
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(**self._args(seed))

    def regressor(self, seed, n_samples):
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(**self._args(seed))
