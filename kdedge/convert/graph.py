"""Graph surgery shared by the non-neural converters, done with onnx.compose rather than by hand-editing protos.

A converter yields a *core* graph `features (N, D) float32 -> ... -> one scores tensor (N, K)`. `finish` turns it
into the graph every student exports: `input (N, *sample_shape) -> Flatten -> core -> scores (N, K) float32` and
`label (N,) int64 = ArgMax(scores)`, in the requested opset.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, compose, helper, version_converter

CORE_INPUT = "features"
CORE_PREFIX = "core_"  # keeps a converter's own names ('label', 'input'...) from clashing with ours
MAP_PREFIX = "map_"


def default_opset(model: onnx.ModelProto) -> int:
    return next(op.version for op in model.opset_import if op.domain in ("", "ai.onnx"))


def upgrade_opset(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """Raise the default-domain opset to `opset` (converters stop at what their ops need, onnxmltools at 15)."""
    if default_opset(model) >= opset:
        return model
    return version_converter.convert_version(model, opset)


def _model_like(core: onnx.ModelProto, graph: onnx.GraphProto) -> onnx.ModelProto:
    """A small model with the core's IR version and default opset, so that onnx.compose can merge the two."""
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", default_opset(core))], ir_version=core.ir_version
    )


def merge(m1: onnx.ModelProto, m2: onnx.ModelProto, **kwargs) -> onnx.ModelProto:
    """onnx.compose.merge_models, with each domain's opset listed once (merge_models concatenates the lists)."""
    model = compose.merge_models(m1, m2, **kwargs)
    unique = {op.domain: op.version for op in model.opset_import}
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(domain, version) for domain, version in unique.items())
    return model


def scores_only(model: onnx.ModelProto, output: str, n_classes: int) -> onnx.ModelProto:
    """The sub-graph that computes `output`, declared (N, K).

    Drops what else a converter computes (a classifier's own label); the declared shape is fixed because some
    converters get it wrong (skl2onnx says (N, 1) for a multi-output forest, and onnxruntime then warns on every run).
    """
    model = onnx.utils.Extractor(model).extract_model([model.graph.input[0].name], [output])
    del model.graph.value_info[:]  # shapes inferred from the converter's declarations, wrong ones included
    out = model.graph.output[0]
    out.CopyFrom(helper.make_tensor_value_info(out.name, out.type.tensor_type.elem_type, ["N", n_classes]))
    return model


def side_by_side(parts: list[onnx.ModelProto], outputs: list[str], n_features: int) -> tuple[onnx.ModelProto, str]:
    """One graph feeding the same `features` to every part and concatenating their (N, 1) outputs on axis 1.

    Each part is prefixed (`c0_`, `c1_`...) so the K copies of a converter's names stay distinct.
    """
    parts = [compose.add_prefix(p, f"c{i}_") for i, p in enumerate(parts)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merge(merged, part, io_map=[])
    names = [f"c{i}_{out}" for i, out in enumerate(outputs)]
    fan_out = _model_like(
        merged,
        helper.make_graph(
            [helper.make_node("Identity", [CORE_INPUT], ["shared"])],
            "fan_out",
            [helper.make_tensor_value_info(CORE_INPUT, TensorProto.FLOAT, ["N", n_features])],
            [helper.make_tensor_value_info("shared", TensorProto.FLOAT, ["N", n_features])],
        ),
    )
    concat = _model_like(
        merged,
        helper.make_graph(
            [helper.make_node("Concat", [f"part{i}" for i in range(len(parts))], ["concat"], axis=1)],
            "concat",
            [helper.make_tensor_value_info(f"part{i}", TensorProto.FLOAT, ["N", 1]) for i in range(len(parts))],
            [helper.make_tensor_value_info("concat", TensorProto.FLOAT, ["N", len(parts)])],
        ),
    )
    inputs = [p.graph.input[0].name for p in parts]
    merged = merge(fan_out, merged, io_map=[("shared", name) for name in inputs])
    merged = merge(merged, concat, io_map=[(name, f"part{i}") for i, name in enumerate(names)])
    return merged, "concat"


def finish(
    core: onnx.ModelProto, scores: str, sample_shape, n_classes: int, opset: int, mapping: onnx.ModelProto | None = None
) -> onnx.ModelProto:
    """`input (N, *sample_shape)` -> Flatten -> [mapping] -> core -> `scores` (N, K) float32 and `label` (N,) int64.

    `mapping`: a fixed feature map `flat -> mapped` (kdedge.feature_maps) the core was fitted behind."""
    core = upgrade_opset(scores_only(core, scores, n_classes), opset)
    n_features = int(np.prod(sample_shape))
    flatten = _model_like(
        core,
        helper.make_graph(
            [helper.make_node("Flatten", ["input"], ["flat"], axis=1)],
            "flatten",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *sample_shape])],
            [helper.make_tensor_value_info("flat", TensorProto.FLOAT, ["N", n_features])],
        ),
    )
    outputs = _model_like(
        core,
        helper.make_graph(
            [
                helper.make_node("Cast", ["raw_scores"], ["scores"], to=TensorProto.FLOAT),
                helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0),
            ],
            "scores_and_label",
            [helper.make_tensor_value_info("raw_scores", TensorProto.FLOAT, ["N", n_classes])],
            [
                helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", n_classes]),
                helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
            ],
        ),
    )
    if mapping is not None:
        mapping.ir_version = flatten.ir_version  # onnx.compose merges only models of one IR version
        flatten = merge(flatten, mapping, io_map=[("flat", mapping.graph.input[0].name)], prefix2=MAP_PREFIX)
    flat = flatten.graph.output[0].name
    model = merge(flatten, core, io_map=[(flat, core.graph.input[0].name)], prefix2=CORE_PREFIX)
    return merge(model, outputs, io_map=[(CORE_PREFIX + scores, "raw_scores")])


def strip_build_traces(model) -> None:
    """Remove what the converters record about the build, in every graph and node (subgraphs included): doc
    strings (onnx.compose writes "Graph combining ... Extracted from {uuid}", a fresh random id per export: same
    seed, different bytes) and metadata_props (torch.onnx writes each node's Python stack trace, with the
    workstation's absolute paths). The model's own metadata_props (kdedge.*) are written after this."""

    def strip(graph) -> None:
        graph.doc_string = ""
        del graph.metadata_props[:]
        for node in graph.node:
            node.doc_string = ""
            del node.metadata_props[:]
            for attr in node.attribute:
                if attr.HasField("g"):
                    strip(attr.g)
                for sub in attr.graphs:
                    strip(sub)
        for info in (*graph.input, *graph.output, *graph.value_info):
            del info.metadata_props[:]

    strip(model.graph)
    for function in model.functions:
        function.doc_string = ""
        for node in function.node:
            node.doc_string = ""
            del node.metadata_props[:]
