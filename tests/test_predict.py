"""`kdedge predict`: each input format, shape checks against the model's metadata, CSV and JSON output."""

import csv
import io
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from typer.testing import CliRunner

from kdedge.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def samples(digits):
    x, _ = digits.split("test")
    return x[:7]


@pytest.fixture(scope="module")
def expected(kd_mlp_run, samples):
    session = ort.InferenceSession(str(kd_mlp_run.onnx_path), providers=["CPUExecutionProvider"])
    return session.run(["scores", "label"], {"input": samples})


def _write(tmp_path, fmt: str, x: np.ndarray):
    path = tmp_path / f"inputs.{fmt.split('-')[0]}"
    if fmt == "npy":
        np.save(path, x)
    elif fmt == "npz":
        np.savez(path, x=x, y=np.zeros(len(x), np.int64))
    elif fmt == "csv":
        np.savetxt(path, x.reshape(len(x), -1), delimiter=",")
    elif fmt == "csv-header":
        header = ",".join(f"pixel{i}" for i in range(x[0].size))
        np.savetxt(path, x.reshape(len(x), -1), delimiter=",", header=header, comments="")
    return path


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.mark.parametrize("fmt", ["npy", "npz", "csv", "csv-header"])
def test_each_input_format(tmp_path, kd_mlp_run, samples, expected, fmt):
    inputs = _write(tmp_path, fmt, samples)
    out = tmp_path / "preds.csv"
    r = runner.invoke(app, ["predict", str(kd_mlp_run.onnx_path), str(inputs), "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open()))
    scores, labels = expected
    assert [int(row["label"]) for row in rows] == labels.tolist()
    assert [row["class"] for row in rows] == [str(int(label)) for label in labels]  # digits' class names
    got = np.array([[float(row[f"score_{k}"]) for k in range(10)] for row in rows])
    np.testing.assert_allclose(got, scores, rtol=1e-5, atol=1e-5)


def test_json_and_stdout(tmp_path, kd_mlp_run, samples, expected):
    inputs = _write(tmp_path, "npy", samples)
    r = runner.invoke(app, ["predict", str(kd_mlp_run.onnx_path), str(inputs), "--json"])
    assert r.exit_code == 0, r.output
    payload = json.loads(r.output)
    assert payload["samples"] == len(samples) and payload["class_names"] == [str(i) for i in range(10)]
    assert [p["label"] for p in payload["predictions"]] == expected[1].tolist()
    assert len(payload["predictions"][0]["scores"]) == 10
    r = runner.invoke(app, ["predict", str(kd_mlp_run.onnx_path), str(inputs)])  # CSV on stdout
    assert r.exit_code == 0 and len(list(csv.DictReader(io.StringIO(r.output)))) == len(samples)


def test_flattened_rows_and_single_sample_are_reshaped(tmp_path, teacher_run, samples):
    flat = tmp_path / "flat.npy"
    np.save(flat, samples.reshape(len(samples), -1))
    one = tmp_path / "one.npy"
    np.save(one, samples[0])  # (1, 8, 8): one sample without the batch dimension
    for path, n in ((flat, len(samples)), (one, 1)):
        r = runner.invoke(app, ["predict", str(teacher_run.onnx_path), str(path), "--json"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.output)["samples"] == n


def test_wrong_shape_and_bad_inputs_are_one_line(tmp_path, kd_mlp_run, samples):
    model = str(kd_mlp_run.onnx_path)
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, samples[:, :, :4])
    line = _one_error_line(runner.invoke(app, ["predict", model, str(wrong)]))
    assert "(7, 1, 4, 8)" in line and "expects (N, 1, 8, 8) or rows of 64 values" in line
    nan = samples.copy()
    nan[2, 0, 3, 3] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    assert "NaN/Inf in 1 samples (first: row 2)" in _one_error_line(
        runner.invoke(app, ["predict", model, str(tmp_path / "nan.npy")])
    )
    np.savez(tmp_path / "nox.npz", inputs=samples)
    assert "no array 'x'" in _one_error_line(runner.invoke(app, ["predict", model, str(tmp_path / "nox.npz")]))
    (tmp_path / "text.csv").write_text("a,b\n1,oops\n")
    assert "not a CSV of numbers" in _one_error_line(runner.invoke(app, ["predict", model, str(tmp_path / "text.csv")]))
    (tmp_path / "x.parquet").write_text("")
    assert "unknown input format" in _one_error_line(
        runner.invoke(app, ["predict", model, str(tmp_path / "x.parquet")])
    )
    assert "no such model file" in _one_error_line(
        runner.invoke(app, ["predict", str(tmp_path / "none.onnx"), str(wrong)])
    )


def test_model_without_kdedge_metadata(tmp_path, kd_mlp_run, samples, expected):
    """A bare ONNX file: the input shape comes from the graph, class names default to 0..K-1."""
    model = onnx.load(str(kd_mlp_run.onnx_path))
    del model.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(model, str(bare))
    inputs = _write(tmp_path, "npy", samples)
    r = runner.invoke(app, ["predict", str(bare), str(inputs), "--json"])
    assert r.exit_code == 0, r.output
    payload = json.loads(r.output)
    assert payload["class_names"] == [str(i) for i in range(10)]
    assert [p["label"] for p in payload["predictions"]] == expected[1].tolist()
