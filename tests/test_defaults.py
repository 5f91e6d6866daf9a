"""Defaults that make sense: the default ResNet student is smaller than the default teacher, a ResNet teacher keeps
width 16, and `teacher eval` times the exported graph the way `kdedge bench` does."""

import json

from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.students import student_class

runner = CliRunner()


def _default_params(family: str, digits) -> int:
    cls = student_class(family)
    return cls(cls.Params(), digits.sample_shape, digits.n_classes, digits.normalization).n_params


def test_default_resnet_student_is_smaller_than_the_default_teacher(digits):
    resnet, cnn = _default_params("resnet", digits), _default_params("cnn", digits)
    assert resnet < cnn, (resnet, cnn)
    assert student_class("resnet").Params().width == 8


def test_a_resnet_teacher_keeps_width_16(tmp_path):
    out = tmp_path / "teacher"
    r = runner.invoke(app, ["teacher", "train", "--arch", "resnet", "--epochs", "1", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    params = json.loads((out / "kdedge.json").read_text())["student"]["params"]
    assert params["width"] == 16 and params["depth"] == 8


def test_teacher_eval_times_the_exported_graph(teacher_run):
    r = runner.invoke(app, ["teacher", "eval", str(teacher_run.path), "--min-runs", "5", "--min-seconds", "0"])
    assert r.exit_code == 0, r.output
    assert "batch-1 onnxruntime (model.onnx) p50" in r.stdout
