"""LightGBM boosters -> a core ONNX graph with onnxmltools: one booster as is, K per-class boosters merged into one
K-target ensemble (side by side when they cannot be merged)."""

from __future__ import annotations

import numpy as np

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
    for part, booster in zip(parts, boosters, strict=True):
        floor_thresholds(part, booster)
    # a classifier: (label, probabilities); a regressor: (variable,) of shape (N, 1). Scores are the last output.
    outputs = [part.graph.output[-1].name for part in parts]
    if len(parts) == 1:
        return parts[0], outputs[0]
    # one ensemble with K targets: onnxruntime walks it in one node (measured in benchmarks/onnx_speed.py)
    return merge_regressors(parts, outputs, n_features) or side_by_side(parts, outputs, n_features)


def _split_thresholds(booster) -> list[float]:
    """Every numerical split threshold of a booster, as LightGBM keeps it (float64)."""
    found, stack = [], [tree["tree_structure"] for tree in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_index" in node:
            if node.get("decision_type") == "<=":
                found.append(float(node["threshold"]))
            stack += [node["left_child"], node["right_child"]]
    return found


def floor_thresholds(model, booster) -> None:
    """LightGBM sends x left when x <= t with t in float64; onnxruntime compares float32 x with a float32 threshold,
    which the converter rounds to nearest — above t for half of them, and then an x between t and its rounding goes
    the other way (seen: max abs diff 0.055 on a mixup transfer set). For float32 x, x <= t exactly when x <= the
    largest float32 not above t, so each threshold becomes that. A rounded value that two thresholds with different
    floors share (they straddle a float32) is left as it is."""
    from onnx import helper

    floors: dict[float, set[float]] = {}
    for t in _split_thresholds(booster):
        near = np.float32(t)
        floor = near if float(near) <= t else np.nextafter(near, np.float32(-np.inf))
        floors.setdefault(float(near), set()).add(float(floor))
    for node in model.graph.node:
        attrs = {a.name: a for a in node.attribute}
        if "nodes_values" not in attrs or "nodes_modes" not in attrs:
            continue
        modes = helper.get_attribute_value(attrs["nodes_modes"])
        values = list(attrs["nodes_values"].floats)
        for i, (mode, value) in enumerate(zip(modes, values, strict=True)):
            choices = floors.get(float(np.float32(value)), set())
            if mode in (b"BRANCH_LEQ", "BRANCH_LEQ") and len(choices) == 1:
                values[i] = next(iter(choices))
        del attrs["nodes_values"].floats[:]
        attrs["nodes_values"].floats.extend(values)
