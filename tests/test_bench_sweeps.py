"""`kdedge bench` sweeps over threads and batch sizes, the CSV, bare --model files and int8 rows."""

import csv
import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from kdedge import measure as bench_lib
from kdedge.cli import app
from kdedge.convert import export_run

runner = CliRunner()
QUICK = ["--min-runs", "3", "--min-seconds", "0", "--no-memory"]


def kdedge(*args):
    return runner.invoke(app, [str(a) for a in args])


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_library_sweep_blocks(kd_mlp_run, digits):
    x, y = digits.split("test")
    result = bench_lib.bench(
        [bench_lib.Entry("mlp", kd_mlp_run.onnx_path)],
        x,
        y,
        threads=[1, 2],
        batches=[1, 3],
        memory=False,
        latency_options={"min_runs": 3, "min_seconds": 0.0, "warmup_runs": 1, "warmup_seconds": 0.0},
    )
    assert result["sweep"] == {"threads": [1, 2], "batch": [1, 3], "inter_op_threads": 1}
    assert result["threads"] == 1 and result["batch"] == 1
    for row in result["rows"]:  # the model and the runtime floor
        blocks = row["latencies"]
        assert [(b["threads"], b["batch"]) for b in blocks] == [(1, 1), (1, 3), (2, 1), (2, 3)]
        assert row["latency"] is blocks[0]
        for b in blocks:
            assert b["runs"] >= 3 and b["p50_us_per_sample"] == pytest.approx(b["p50_us"] / b["batch"])


def test_cli_sweep_table_json_and_csv(tmp_path, kd_mlp_run, teacher_run):
    out_json, out_csv = tmp_path / "bench.json", tmp_path / "bench.csv"
    r = kdedge(
        "bench", kd_mlp_run.path, teacher_run.path, "--batch", "1,8", "--threads", "1,2", *QUICK,
        "--out", out_json, "--csv", out_csv,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "latency sweep" in r.output and "b8 t2" in r.output
    result = json.loads(out_json.read_text())
    rows = {row["name"]: row for row in result["rows"]}
    assert set(rows) == {"mlp", "teacher", "runtime floor"}
    assert rows["teacher"]["kind"] == "teacher" and rows["mlp"]["agreement"] > 0.9  # headline fields unchanged
    assert rows["mlp"]["latency"]["batch"] == 1 and rows["mlp"]["vs_teacher"]["p50"] > 0
    table = list(csv.DictReader(out_csv.open()))
    assert len(table) == 3 * 4
    combos = {(row["name"], int(row["threads"]), int(row["batch"])) for row in table}
    assert ("teacher", 2, 8) in combos and ("runtime floor", 1, 1) in combos
    mlp = next(row for row in table if row["name"] == "mlp" and row["batch"] == "8")
    assert float(mlp["p50_us_per_sample"]) == pytest.approx(float(mlp["p50_us"]) / 8, rel=1e-4)
    assert mlp["precision"] == "fp32" and float(mlp["accuracy"]) > 0.9


def test_bare_models_with_data(tmp_path, kd_mlp_run, teacher_run):
    out = tmp_path / "bench.json"
    r = kdedge(
        "bench", "--model", kd_mlp_run.onnx_path, "--model", teacher_run.onnx_path, "--data", "digits", *QUICK,
        "--out", out,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = {row["name"]: row for row in json.loads(out.read_text())["rows"]}
    teacher = rows[str(teacher_run.onnx_path)]
    assert teacher["kind"] == "teacher" and teacher["family"] == "cnn"  # from the model's metadata
    mlp = rows[str(kd_mlp_run.onnx_path)]
    assert mlp["agreement"] == pytest.approx(kd_mlp_run.manifest.metrics["test_agreement_with_teacher"])
    assert mlp["accuracy"] == pytest.approx(kd_mlp_run.manifest.metrics["test_accuracy"])


def test_bare_model_errors(tmp_path, kd_mlp_run):
    bare = bench_lib.floor_model(3)  # an ONNX file without kdedge metadata: nothing says what data it came from
    assert "pass --data" in _one_error_line(kdedge("bench", "--model", bare, *QUICK))
    rng = np.random.default_rng(0)
    other = tmp_path / "vectors.npz"
    np.savez(other, x=rng.standard_normal((60, 5)).astype(np.float32), y=np.arange(60) % 10)
    line = _one_error_line(kdedge("bench", "--model", kd_mlp_run.onnx_path, "--data", other, *QUICK))
    assert "expects inputs of shape (N, 1, 8, 8)" in line and "(5,)" in line
    assert "nothing to bench" in _one_error_line(kdedge("bench", "--data", "digits"))
    line = _one_error_line(kdedge("bench", kd_mlp_run.path, "--batch", "1,0", *QUICK))
    assert "--batch '1,0'" in line


def test_int8_rows_and_target_sweep(tmp_path, kd_mlp_run, teacher_run):
    """An int8 export is benched beside its fp32 graph; --target takes threads and batches from the profile."""
    run_dir = tmp_path / "mlp"
    shutil.copytree(kd_mlp_run.path, run_dir)
    export_run(run_dir, target="cpu-int8-dynamic", keep_slower_int8=True)
    out = tmp_path / "bench.json"
    r = kdedge("bench", run_dir, teacher_run.path, "--target", "mobile-fp32", *QUICK, "--out", out)
    assert r.exit_code == 0, r.output
    result = json.loads(out.read_text())
    rows = {row["name"]: row for row in result["rows"]}
    assert rows["mlp int8"]["precision"] == "int8-dynamic" and rows["mlp int8"]["kind"] == "student"
    assert rows["mlp int8"]["agreement"] > 0.9 and rows["mlp int8"]["size_kb"] < rows["mlp"]["size_kb"]
    assert result["sweep"]["threads"] == [1, 2] and result["sweep"]["batch"] == [1]  # mobile-fp32's
    r = kdedge("bench", run_dir, teacher_run.path, "--no-int8", *QUICK, "--out", out, "--overwrite")
    assert r.exit_code == 0 and "mlp int8" not in {row["name"] for row in json.loads(out.read_text())["rows"]}
