"""Non-neural students to ONNX: a registry of core converters (name -> function) and the shared finish.

A core converter takes what the student's `export_parts()` returns, the number of flattened features and the opset,
and returns `(core_model, scores_output_name)` with input `features (N, D) float32`; `graph.finish` adds the
Flatten in front and `scores` / `label` behind. Adding a family with a new library is one module with one
`@core_converter("name")` function plus one import line in `_load_converters`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ExportError

CORE_CONVERTERS: dict[str, Callable] = {}


def core_converter(name: str):
    def register(fn):
        CORE_CONVERTERS[name] = fn
        return fn

    return register


def _load_converters() -> None:
    from . import lightgbm_onnx, sklearn_onnx  # noqa: F401  (register themselves)


def nonneural_to_onnx(kind: str, parts, sample_shape, n_classes: int, opset: int, features=None):
    """One ONNX graph `input (N, *sample_shape)` -> `scores (N, K)`, `label (N,)` for a fitted non-neural model
    (`features`: the student's kdedge.feature_maps map, whose graph goes between the Flatten and the model)."""
    from .graph import finish

    _load_converters()
    if kind not in CORE_CONVERTERS:
        raise ExportError(f"no ONNX converter named {kind!r}; known: {', '.join(sorted(CORE_CONVERTERS))}")
    n_features = int(np.prod(sample_shape)) if features is None else features.n_outputs
    core, scores = CORE_CONVERTERS[kind](parts, n_features, opset)
    # K comes from the student: some converters declare a wrong width (a multi-output forest says (N, 1)).
    mapping = None if features is None else features.graph(opset)
    return finish(core, scores, sample_shape, n_classes, opset, mapping)
