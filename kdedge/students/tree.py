"""`--student tree`: one decision tree fitted to the teacher (born-again idea: a single readable tree that mimics
it, best on an enlarged transfer set); hard baseline: a DecisionTreeClassifier on the labels."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from .base import register
from .sklearn_base import NonNeuralParams, PipelineStudent


class TreeParams(NonNeuralParams):
    max_depth: int | None = Field(None, ge=1, description="tree depth (default: until leaves are pure)")


@register
class TreeStudent(PipelineStudent):
    family: ClassVar[str] = "tree"
    summary: ClassVar[str] = "one decision tree regressing all teacher outputs (hard: DecisionTreeClassifier)"
    Params = TreeParams
    scale_inputs: ClassVar[bool] = False

    def classifier(self, seed, n_samples):
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier(max_depth=self.params.max_depth, random_state=seed)

    def regressor(self, seed, n_samples):
        from sklearn.tree import DecisionTreeRegressor

        return DecisionTreeRegressor(max_depth=self.params.max_depth, random_state=seed)
