"""The spine through the CLI as a user types it, and its errors (one line, exit 2)."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from kdedge.cli import app

runner = CliRunner()


def kdedge(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_teacher_distill_export_bench(tmp_path, teacher_run):
    mlp, hard = tmp_path / "mlp", tmp_path / "mlp-hard"
    r = kdedge(
        "distill",
        "--teacher",
        teacher_run.path,
        "--student",
        "mlp",
        "--method",
        "kd",
        "--temperature",
        4,
        "--alpha",
        0.9,
        "--hidden",
        "32",
        "--epochs",
        20,
        "--out",
        mlp,
    )
    assert r.exit_code == 0, r.output
    assert "agreement with teacher" in r.output
    manifest = json.loads((mlp / "kdedge.json").read_text())
    assert set(manifest["compute"]["teacher_outputs"]) == {"train", "val"}  # entries of the shared cache
    assert manifest["compute"]["threads"] >= 1
    assert manifest["teacher"]["path"] == str(teacher_run.path.resolve())
    assert manifest["method"] == {"name": "kd", "temperature": 4.0, "alpha": 0.9}
    assert manifest["student"]["params"]["hidden"] == [32]

    r = kdedge(
        "distill",
        "--teacher",
        teacher_run.path,
        "--method",
        "hard",
        "--hidden",
        "32,16",
        "--epochs",
        5,
        "--out",
        hard,
        "--json",
    )
    assert r.exit_code == 0, r.output
    assert 0 <= json.loads(r.output)["test_accuracy"] <= 1

    r = kdedge("export", mlp, hard)
    assert r.exit_code == 0, r.output
    assert "labels 100.00%" in r.output

    out = tmp_path / "bench.json"
    r = kdedge(
        "bench", mlp, hard, teacher_run.path, "--data", "digits", "--min-runs", 50, "--min-seconds", 0.05, "--out", out
    )
    assert r.exit_code == 0, r.output
    assert "runtime floor" in r.output and "(teacher)" in r.output
    result = json.loads(out.read_text())
    rows = {row["name"]: row for row in result["rows"]}
    assert set(rows) == {"mlp", "mlp-hard", "teacher", "runtime floor"}
    for name in ("mlp", "mlp-hard", "teacher"):
        row = rows[name]
        lat = row["latency"]
        assert lat["runs"] >= 50 and len(lat["raw_us"]) == lat["runs"] and lat["threads"] == 1
        assert lat["p50_us"] <= lat["p90_us"] <= lat["p99_us"]
        assert lat["first_run_us"] > 0 and lat["session_init_ms"] > 0
        assert row["memory"]["model_mb"] >= 0 and row["size_kb"] > 0 and row["n_params"] > 0
        assert 0.5 < row["accuracy"] <= 1 and 0.5 < row["agreement"] <= 1
    assert rows["teacher"]["agreement"] == 1.0 and rows["teacher"]["vs_teacher"]["p50"] == 1.0
    assert rows["mlp"]["vs_teacher"]["params"] == pytest.approx(rows["mlp"]["n_params"] / rows["teacher"]["n_params"])
    assert result["data"]["fingerprint"] == manifest["data"]["fingerprint"]


def test_teacher_train_from_the_cli(tmp_path):
    r = kdedge("teacher", "train", "--data", "digits", "--epochs", 2, "--channels", "8,8,8", "--out", tmp_path / "t")
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "t" / "kdedge.json").read_text())
    assert manifest["kind"] == "teacher" and manifest["student"]["params"]["channels"] == [8, 8, 8]
    assert {"torch", "numpy", "kdedge"} <= set(manifest["versions"])
    assert (tmp_path / "t" / "weights.safetensors").is_file()
    r = kdedge("teacher", "train", "--epochs", 1, "--out", tmp_path / "t")
    assert r.exit_code == 2 and "--overwrite" in r.output


def _one_error_line(result):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_missing_run_directory(tmp_path):
    assert "no such run directory" in _one_error_line(kdedge("export", tmp_path / "nope"))


def test_run_without_model_onnx(tmp_path, kd_mlp_run):
    import shutil

    copy = tmp_path / "mlp"
    shutil.copytree(kd_mlp_run.path, copy)
    (copy / "model.onnx").unlink()
    assert "kdedge export" in _one_error_line(kdedge("bench", copy, "--min-seconds", 0))


def test_unknown_student_and_method(tmp_path, teacher_run):
    line = _one_error_line(
        kdedge("distill", "--teacher", teacher_run.path, "--student", "gpt", "--out", tmp_path / "x")
    )
    assert "unknown --student 'gpt'" in line and "mlp" in line
    line = _one_error_line(
        kdedge("distill", "--teacher", teacher_run.path, "--method", "magic", "--out", tmp_path / "x")
    )
    assert "unknown --method 'magic'" in line and "kd" in line
    assert not (tmp_path / "x").exists()


def test_wrong_shape_nan_and_class_count(tmp_path, teacher_run):
    rng = np.random.default_rng(0)
    wrong_shape = tmp_path / "wrong_shape.npz"
    np.savez(wrong_shape, x=rng.random((60, 1, 6, 6)), y=np.repeat(np.arange(10), 6))
    line = _one_error_line(
        kdedge("distill", "--teacher", teacher_run.path, "--data", wrong_shape, "--out", tmp_path / "a")
    )
    assert "(1, 8, 8)" in line and "(1, 6, 6)" in line

    five_classes = tmp_path / "five.npz"
    np.savez(five_classes, x=rng.random((50, 1, 8, 8)), y=np.repeat(np.arange(5), 10))
    line = _one_error_line(
        kdedge("distill", "--teacher", teacher_run.path, "--data", five_classes, "--out", tmp_path / "b")
    )
    assert "10 classes" in line and "5" in line

    x = rng.random((60, 1, 8, 8))
    x[3, 0, 2, 2] = np.nan
    nan = tmp_path / "nan.npz"
    np.savez(nan, x=x, y=np.repeat(np.arange(10), 6))
    assert "NaN" in _one_error_line(kdedge("teacher", "train", "--data", nan, "--out", tmp_path / "c"))
    assert not any((tmp_path / d).exists() for d in "abc")


def test_option_that_does_not_apply(tmp_path, teacher_run):
    line = _one_error_line(
        kdedge("distill", "--teacher", teacher_run.path, "--student", "mlp", "--channels", "8", "--out", tmp_path / "x")
    )
    assert "--channels does not apply to --student mlp" in line


def test_interrupted_distill_leaves_nothing(tmp_path, teacher_run, monkeypatch):
    from kdedge.students.neural import MLPStudent

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(MLPStudent, "fit", crash)
    r = kdedge("distill", "--teacher", teacher_run.path, "--out", tmp_path / "x")
    assert r.exit_code != 0
    assert list(tmp_path.iterdir()) == []


def test_a_truncated_onnx_file_is_refused_in_one_line(tmp_path, kd_mlp_run):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(kd_mlp_run.onnx_path.read_bytes()[:500])
    assert "onnxruntime cannot load it" in _one_error_line(kdedge("bench", "--model", broken, "--data", "digits"))
