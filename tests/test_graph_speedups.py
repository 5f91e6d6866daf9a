"""Graph choices that make exported students faster keep their numbers: the input normalization folded into an
MLP's first layer, and per-class LightGBM boosters merged into one K-target tree ensemble."""

import numpy as np
import onnx
import pytest
import torch

from kdedge.convert.parity import run_onnx
from kdedge.convert.torch_fold import fold_input_normalization
from kdedge.nets import build


@pytest.mark.parametrize(
    ("shape", "mean", "std"),
    [((6,), np.arange(6.0), np.linspace(0.5, 3, 6)), ((1, 4, 4), np.array([[[3.0]]]), np.array([[[2.0]]]))],
)
def test_folded_mlp_computes_the_same_function(shape, mean, std):
    torch.manual_seed(0)
    module = build("mlp", shape, 3, mean, std, hidden=(8,)).eval()
    folded = fold_input_normalization(module, shape)
    assert len(folded) == len(module) - 1  # Normalize is gone
    x = torch.rand(20, *shape) * 10
    torch.testing.assert_close(folded(x), module(x), rtol=1e-5, atol=1e-5)


def test_a_cnn_is_left_alone():
    module = build("cnn", (1, 8, 8), 3, np.zeros((1, 1, 1)), np.ones((1, 1, 1)), channels=(4, 4))
    assert fold_input_normalization(module, (1, 8, 8)) is module


def test_exported_mlp_has_no_normalization_nodes(kd_mlp_run):
    ops = {node.op_type for node in onnx.load(kd_mlp_run.onnx_path).graph.node}
    assert not ops & {"Sub", "Div"}, ops


def test_gbdt_per_class_boosters_become_one_ensemble(teacher_run, tmp_path, digits):
    import kdedge
    from kdedge.convert import lightgbm_onnx
    from kdedge.convert.converters import to_onnx
    from kdedge.students import load_student

    run = kdedge.distill(teacher_run.path, out=tmp_path / "gbdt", student="gbdt", method="logits", n_estimators=20)
    kdedge.export(run.path)
    graph = onnx.load(run.onnx_path).graph
    ensembles = [n for n in graph.node if n.op_type == "TreeEnsembleRegressor"]
    assert len(ensembles) == 1
    assert onnx.helper.get_attribute_value(next(a for a in ensembles[0].attribute if a.name == "n_targets")) == 10

    student = load_student(run)
    original = lightgbm_onnx.merge_regressors
    lightgbm_onnx.merge_regressors = lambda *args: None  # the graph before the merge: K nodes side by side
    try:
        side_by_side = to_onnx(student, 18)
    finally:
        lightgbm_onnx.merge_regressors = original
    assert sum(n.op_type == "TreeEnsembleRegressor" for n in side_by_side.graph.node) == 10
    x, _ = digits.split("test")
    merged_scores, merged_labels = run_onnx(run.onnx_path.read_bytes(), x)
    old_scores, old_labels = run_onnx(side_by_side.SerializeToString(), x)
    np.testing.assert_allclose(merged_scores, old_scores, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(merged_labels, old_labels)
    np.testing.assert_allclose(merged_scores, student.scores(x), rtol=1e-4, atol=1e-4)
