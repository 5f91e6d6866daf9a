"""int8 quantization: the graphs onnxruntime.quantization makes, calibration, budget refusal, non-neural students."""

import json
import shutil

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.convert import INT8_FILE, export_run
from kdedge.convert import quantize as q
from kdedge.convert.profiles import load_profile
from kdedge.errors import ExportError
from kdedge.runs import Run

runner = CliRunner()


def _ops(model_bytes: bytes) -> set[str]:
    return {n.op_type for n in onnx.load_from_string(model_bytes).graph.node}


def test_static_qdq_on_a_cnn(teacher_run, digits):
    fp32 = teacher_run.onnx_path.read_bytes()
    x_train, _ = digits.split("train")
    int8, scheme = q.quantize(fp32, "int8-static", q.calibration_samples(x_train, 64, seed=0))
    model = onnx.load_from_string(int8)
    ops = _ops(int8)
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops and "S8S8" in scheme
    # S8S8: activations and weights int8 (biases int32), nothing uint8
    zero_point_types = {i.data_type for i in model.graph.initializer if i.name.endswith("zero_point")}
    assert onnx.TensorProto.INT8 in zero_point_types and onnx.TensorProto.UINT8 not in zero_point_types
    # metadata carried over; only the domains the graph uses are declared
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["kdedge.class_names"]) == digits.class_names
    assert {o.domain for o in model.opset_import} <= {"", "ai.onnx"} | {n.domain for n in model.graph.node}
    x, y = digits.split("test")
    figures = q.compare(fp32, int8, x, y, budget_points=1.0)
    assert figures["within_budget"] and figures["agreement_with_fp32"] > 0.97


def test_dynamic_on_an_mlp(kd_mlp_run, digits):
    fp32 = kd_mlp_run.onnx_path.read_bytes()
    int8, scheme = q.quantize(fp32, "int8-dynamic", None)
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= _ops(int8) and "dynamic" in scheme
    x, y = digits.split("test")
    figures = q.compare(fp32, int8, x, y, budget_points=1.0)
    assert figures["samples"] == len(x) and figures["within_budget"]
    assert figures["accuracy_drop_points"] == pytest.approx(100 * (figures["fp32_accuracy"] - figures["int8_accuracy"]))


def test_calibration_samples_come_from_train_and_repeat(digits):
    x_train, _ = digits.split("train")
    a, b = q.calibration_samples(x_train, 50, seed=3), q.calibration_samples(x_train, 50, seed=3)
    np.testing.assert_array_equal(a, b)
    assert len(a) == 50 and not np.array_equal(a, q.calibration_samples(x_train, 50, seed=4))
    train_rows = {row.tobytes() for row in x_train}
    assert all(row.tobytes() in train_rows for row in a)
    assert len(q.calibration_samples(x_train, 10**6, seed=0)) == len(x_train)


def test_over_budget_is_refused_and_fp32_kept(tmp_path, kd_mlp_run, monkeypatch):
    """A budget of -1 point (int8 would have to gain a point) is impossible to meet: refuse, keep fp32 only."""
    from kdedge.convert import profiles

    run_dir = tmp_path / "mlp"
    shutil.copytree(kd_mlp_run.path, run_dir)
    export_run(run_dir, target="cpu-int8-dynamic", keep_slower_int8=True)  # an earlier, accepted int8 graph
    assert (run_dir / INT8_FILE).is_file()

    impossible = load_profile("cpu-int8-dynamic").model_copy(update={"accuracy_budget": -1.0})
    with pytest.raises(ExportError, match="over the budget of -1 points") as err:
        export_run(run_dir, target=impossible)
    assert "kept the fp32 model.onnx only" in str(err.value)
    assert (run_dir / "model.onnx").is_file() and not (run_dir / INT8_FILE).exists()
    export = Run.load(run_dir).manifest.export
    assert export["int8"] is None and export["parity"]["label_agreement"] == 1.0
    refused = export["int8_refused"]
    assert refused["budget_points"] == -1.0 and not refused["within_budget"]

    # through the CLI: one line with the figures, exit 2
    monkeypatch.setattr(profiles, "load_profile", lambda spec: impossible)
    r = runner.invoke(app, ["export", str(run_dir), "--target", "cpu-int8-dynamic"])
    assert r.exit_code == 2
    error = [line for line in r.output.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and "points of test accuracy" in error[0] and "agreement with fp32" in error[0]


def test_non_neural_student_stays_fp32_with_a_note(tmp_path, digits, teacher_run):
    from kdedge.distillation.methods import make_method
    from kdedge.distillation.run import fit_run
    from kdedge.students import STUDENTS, student_class
    from kdedge.students.neural import NeuralStudent

    student_class("mlp")  # registers every family
    if "tree" not in STUDENTS:
        pytest.skip("no tree student registered")
    assert not issubclass(STUDENTS["tree"], NeuralStudent)
    from kdedge.teachers import load_teacher

    run = fit_run(
        out=tmp_path / "tree",
        kind="student",
        family="tree",
        options={"max_depth": 6},
        method=make_method("logits"),
        dataset=digits,
        data_source="digits",
        seed=0,
        teacher=load_teacher(teacher_run.path),
    )
    info = export_run(run.path, target="cpu-int8-static")
    assert info["int8"] is None and "stay fp32" in info["note"]
    assert run.onnx_path.is_file() and not (run.path / INT8_FILE).exists()
