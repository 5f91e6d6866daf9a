"""LightGBM boosters -> a core ONNX graph with onnxmltools: one booster as is, K per-class boosters merged into one
K-target ensemble (side by side when they cannot be merged)."""

from __future__ import annotations

from .graph import CORE_INPUT, side_by_side
from .nonneural import core_converter
from .tree_merge import merge_regressors

# onnxmltools' LightGBM converter supports opsets up to this; graph.finish raises the result to the requested one.
ONNXMLTOOLS_MAX_OPSET = 15


@core_converter("lightgbm")
def boosters_to_onnx(boosters: list, n_features: int, opset: int):
    from onnxmltools import convert_lightgbm

    # onnxmltools' own FloatTensorType: skl2onnx's is refused for LightGBM classifiers.
    from onnxmltools.convert.common.data_types import FloatTensorType

    parts = [
        convert_lightgbm(
            booster,
            initial_types=[(CORE_INPUT, FloatTensorType([None, n_features]))],
            target_opset=min(opset, ONNXMLTOOLS_MAX_OPSET),
            zipmap=False,
        )
        for booster in boosters
    ]
    # a classifier: (label, probabilities); a regressor: (variable,) of shape (N, 1). Scores are the last output.
    outputs = [part.graph.output[-1].name for part in parts]
    if len(parts) == 1:
        return parts[0], outputs[0]
    # one ensemble with K targets: onnxruntime walks it in one node (measured in benchmarks/onnx_speed.py)
    return merge_regressors(parts, outputs, n_features) or side_by_side(parts, outputs, n_features)
