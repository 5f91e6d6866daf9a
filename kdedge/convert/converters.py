"""Student -> ONNX: a registry of converters by student class (found along the class's MRO, as skl2onnx finds
its converters by estimator type), so students know nothing of ONNX and a plug-in family registers its own.

Every converter returns one onnx.ModelProto with input `input (N, *sample_shape) float32` and outputs
`scores (N, K) float32` and `label (N,) int64`.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ExportError
from ..students.ensemble import MIN_PROB, EnsembleStudent
from ..students.neural import NeuralStudent
from ..students.sklearn_base import NonNeuralStudent

CONVERTERS: dict[type, Callable] = {}


def converter(student_cls: type):
    """Register `fn(student, opset) -> onnx.ModelProto` for `student_cls` and its subclasses."""

    def register(fn: Callable) -> Callable:
        if student_cls in CONVERTERS:
            raise ValueError(f"an ONNX converter for {student_cls.__name__} is registered twice")
        CONVERTERS[student_cls] = fn
        return fn

    return register


def to_onnx(student, opset: int):
    for cls in type(student).__mro__:
        if cls in CONVERTERS:
            return CONVERTERS[cls](student, opset)
    raise ExportError(
        f"no ONNX converter for the {student.family} family; a plug-in registers one with "
        "kdedge.convert.converters.converter(StudentClass)"
    )


@converter(NeuralStudent)
def _torch(student, opset: int):
    from .torch_fold import fold_input_normalization
    from .torch_onnx import torch_to_onnx

    return torch_to_onnx(fold_input_normalization(student.module, student.sample_shape), student.sample_shape, opset)


@converter(NonNeuralStudent)
def _nonneural(student, opset: int):
    from .nonneural import nonneural_to_onnx

    return nonneural_to_onnx(
        student.exporter, student.export_parts(), student.sample_shape, student.n_classes, opset, student.feature_map
    )


@converter(EnsembleStudent)
def _ensemble(student, opset: int):
    return merge_members([to_onnx(m, opset) for m in student.members], student.params.vote, student.n_classes, opset)


def merge_members(models: list, vote: str, n_classes: int, opset: int):
    """One graph: `input` fans out to every member graph (names prefixed m0_, m1_...), their scores or labels
    are combined as in `combine`, and `scores` / `label` come out."""
    import onnx
    from onnx import TensorProto, compose, helper, version_converter

    def default_opset(m):
        return next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), opset)

    target = max([opset, *map(default_opset, models)])
    models = [m if default_opset(m) == target else version_converter.convert_version(m, target) for m in models]
    # onnx.compose merges only models that agree on IR version and on each domain's opset; members converted by
    # different tools (torch, skl2onnx, onnxmltools) differ there, so align them on the highest of each.
    ir_version = max(m.ir_version for m in models)
    domains: dict[str, int] = {}
    for m in models:
        for o in m.opset_import:
            domains[o.domain] = max(domains.get(o.domain, 0), o.version)
    parts = []
    for i, m in enumerate(models):
        m = compose.add_prefix(m, f"m{i}_")
        m.ir_version = ir_version
        del m.opset_import[:]
        m.opset_import.extend(helper.make_opsetid(d, v) for d, v in domains.items())
        parts.append(m)

    def model(graph):
        return helper.make_model(
            graph, ir_version=ir_version, opset_imports=[helper.make_opsetid(d, v) for d, v in domains.items()]
        )

    merged = parts[0]
    for part in parts[1:]:
        merged = compose.merge_models(merged, part, io_map=[])
    sample = list(models[0].graph.input[0].type.tensor_type.shape.dim)
    dims = ["N", *[d.dim_value for d in sample[1:]]]
    fan_out = model(
        helper.make_graph(
            [helper.make_node("Identity", ["input"], ["shared_input"])],
            "fan_out",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, dims)],
            [helper.make_tensor_value_info("shared_input", TensorProto.FLOAT, dims)],
        )
    )
    merged = compose.merge_models(fan_out, merged, io_map=[("shared_input", p.graph.input[0].name) for p in parts])
    n = len(parts)
    member_out, member_type, member_shape, nodes, constants = _vote_nodes(vote, n, n_classes)
    nodes.append(helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0))
    combiner = model(
        helper.make_graph(
            nodes,
            f"{vote}_vote",
            [helper.make_tensor_value_info(f"s{i}", member_type, member_shape) for i in range(n)],
            [
                helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", n_classes]),
                helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
            ],
            initializer=constants,
        )
    )
    merged = compose.merge_models(
        merged, combiner, io_map=[(f"m{i}_{member_out}", f"s{i}") for i in range(n)], outputs=["scores", "label"]
    )
    onnx.checker.check_model(merged)
    return merged


def _vote_nodes(vote: str, n: int, n_classes: int):
    """The combiner's inputs and nodes: mean of the members' softmax (scores = its log), or a count of votes."""
    from onnx import TensorProto, helper

    if vote == "mean":
        member_out, member_type, member_shape = "scores", TensorProto.FLOAT, ["N", n_classes]
        nodes = [helper.make_node("Softmax", [f"s{i}"], [f"p{i}"], axis=1) for i in range(n)]
        nodes += [
            helper.make_node("Sum", [f"p{i}" for i in range(n)], ["p_sum"]),
            helper.make_node("Mul", ["p_sum", "inv_n"], ["p_mean"]),
            helper.make_node("Max", ["p_mean", "min_prob"], ["p_clipped"]),
            helper.make_node("Log", ["p_clipped"], ["scores"]),
        ]
        constants = [
            helper.make_tensor("inv_n", TensorProto.FLOAT, [], [1.0 / n]),
            helper.make_tensor("min_prob", TensorProto.FLOAT, [], [MIN_PROB]),
        ]
    else:
        member_out, member_type, member_shape = "label", TensorProto.INT64, ["N"]
        nodes = [helper.make_node("OneHot", [f"s{i}", "depth", "one_hot_values"], [f"v{i}"], axis=-1) for i in range(n)]
        nodes.append(helper.make_node("Sum", [f"v{i}" for i in range(n)], ["scores"]))
        constants = [
            helper.make_tensor("depth", TensorProto.INT64, [], [n_classes]),
            helper.make_tensor("one_hot_values", TensorProto.FLOAT, [2], [0.0, 1.0]),
        ]
    return member_out, member_type, member_shape, nodes, constants
