"""K single-output tree-ensemble regressors (one LightGBM booster per class) merged into one TreeEnsembleRegressor
with K targets, so onnxruntime walks one ensemble per call instead of K nodes and a Concat.

The trees are unchanged: each part's tree ids are shifted past the previous parts', and its leaves write to target
`k` instead of 0. Summing per target is what each part did alone, so the scores are the same numbers.
"""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from .graph import CORE_INPUT

ENSEMBLE = "TreeEnsembleRegressor"
TREE_IDS = ("nodes_treeids", "target_treeids")
# Per-node and per-leaf lists, concatenated part after part.
LISTS = (
    "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_values", "nodes_truenodeids", "nodes_falsenodeids",
    "nodes_missing_value_tracks_true", "nodes_hitrates", "target_nodeids", "target_weights",
)  # fmt: skip
SAME = ("post_transform", "aggregate_function")  # must agree across parts to be merged


def single_ensemble(model: onnx.ModelProto, output: str) -> onnx.NodeProto | None:
    """The one TreeEnsembleRegressor computing `output` (through Identity nodes at most) with one target, else None."""
    ensembles = [n for n in model.graph.node if n.op_type == ENSEMBLE]
    others = [n for n in model.graph.node if n.op_type not in (ENSEMBLE, "Identity")]
    if len(ensembles) != 1 or others:
        return None
    node = ensembles[0]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("n_targets", 1) != 1 or "nodes_values_as_tensor" in attrs or "base_values_as_tensor" in attrs:
        return None
    reaches = {node.output[0]} | {n.output[0] for n in model.graph.node if n.op_type == "Identity"}
    return node if output in reaches else None


def merge_regressors(parts: list[onnx.ModelProto], outputs: list[str], n_features: int):
    """(merged core model, its output name), or None when any part is not a single one-target ensemble."""
    nodes = [single_ensemble(p, o) for p, o in zip(parts, outputs, strict=True)]
    if any(n is None for n in nodes):
        return None
    attrs = [{a.name: helper.get_attribute_value(a) for a in n.attribute} for n in nodes]
    if any(tuple(a.get(k) for k in SAME) != tuple(attrs[0].get(k) for k in SAME) for a in attrs):
        return None
    merged: dict[str, list] = {name: [] for name in (*TREE_IDS, *LISTS, "target_ids")}
    base_values, offset = [], 0
    for k, a in enumerate(attrs):
        for name in TREE_IDS:
            merged[name] += [t + offset for t in a[name]]
        for name in LISTS:
            if name in a:
                merged[name] += list(a[name])
        merged["target_ids"] += [k] * len(a["target_ids"])
        base_values += list(a.get("base_values", [0.0]))
        offset += max(a["nodes_treeids"]) + 1
    merged = {name: values for name, values in merged.items() if values}
    if any(base_values):
        merged["base_values"] = base_values
    for name in SAME:
        if name in attrs[0]:
            merged[name] = attrs[0][name]
    node = helper.make_node(ENSEMBLE, [CORE_INPUT], ["scores_k"], domain="ai.onnx.ml", n_targets=len(parts), **merged)
    graph = helper.make_graph(
        [node],
        "merged_ensemble",
        [helper.make_tensor_value_info(CORE_INPUT, TensorProto.FLOAT, ["N", n_features])],
        [helper.make_tensor_value_info("scores_k", TensorProto.FLOAT, ["N", len(parts)])],
    )
    model = helper.make_model(graph, opset_imports=list(parts[0].opset_import), ir_version=parts[0].ir_version)
    onnx.checker.check_model(model)
    return model, "scores_k"
