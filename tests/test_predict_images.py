"""`kdedge predict` on image files and folders (decoded and resized as in training), and --proba."""

import csv
import io
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from typer.testing import CliRunner

from kdedge.cli import app

Image = pytest.importorskip("PIL.Image")
runner = CliRunner()


@pytest.fixture(scope="module")
def images(tmp_path_factory, digits):
    """Five test digits as 8-bit grayscale PNGs (pixel values 0..16 kept exactly), two in a sub-folder."""
    x, _ = digits.split("test")
    root = tmp_path_factory.mktemp("images")
    (root / "more").mkdir()
    paths = []
    for i in range(5):
        path = root / ("more" if i >= 3 else ".") / f"digit{i}.png"
        Image.fromarray(x[i, 0].astype(np.uint8), mode="L").save(path)
        paths.append(path)
    return root, x[:5]


def _expected(model_path, x):
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return session.run(["scores", "label"], {"input": x.astype(np.float32)})


def test_a_folder_of_images(images, kd_mlp_run):
    root, x = images
    r = runner.invoke(app, ["predict", str(kd_mlp_run.onnx_path), str(root)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["file"] for row in rows] == ["digit0.png", "digit1.png", "digit2.png", "more/digit3.png",
                                             "more/digit4.png"]  # fmt: skip
    scores, labels = _expected(kd_mlp_run.onnx_path, x)
    assert [int(row["label"]) for row in rows] == labels.tolist()
    got = np.array([[float(row[f"score_{k}"]) for k in range(10)] for row in rows])
    np.testing.assert_allclose(got, scores, rtol=1e-5, atol=1e-5)


def test_one_image_resized_to_the_model(tmp_path, images, teacher_run):
    root, x = images
    big = tmp_path / "big.png"  # 16x16 RGB: converted to grayscale and resized to 8x8 as the image reader does
    Image.open(root / "digit0.png").convert("RGB").resize((16, 16)).save(big)
    r = runner.invoke(app, ["predict", str(teacher_run.onnx_path), str(big), "--json"])
    assert r.exit_code == 0, r.output
    [prediction] = json.loads(r.stdout)["predictions"]
    assert prediction["file"] == "big.png" and len(prediction["scores"]) == 10


def test_proba(images, kd_mlp_run):
    root, x = images
    r = runner.invoke(app, ["predict", str(kd_mlp_run.onnx_path), str(root), "--proba"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    probs = np.array([[float(row[f"proba_{k}"]) for k in range(10)] for row in rows])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert probs.argmax(1).tolist() == [int(row["label"]) for row in rows]
    scores, _ = _expected(kd_mlp_run.onnx_path, x)
    softmax = np.exp(scores - scores.max(1, keepdims=True))
    np.testing.assert_allclose(probs, softmax / softmax.sum(1, keepdims=True), rtol=1e-4, atol=1e-6)
    r = runner.invoke(app, ["predict", str(kd_mlp_run.onnx_path), str(root), "--proba", "--json"])
    first = json.loads(r.stdout)["predictions"][0]
    assert len(first["probabilities"]) == 10 and len(first["scores"]) == 10


def _with_metadata(tmp_path, source, **changes):
    model = onnx.load(str(source))
    props = {p.key: p.value for p in model.metadata_props}
    onnx.helper.set_model_props(model, {**props, **{f"kdedge.{k}": v for k, v in changes.items()}})
    path = tmp_path / "changed.onnx"
    onnx.save(model, str(path))
    return path


def test_refusals_in_one_line(tmp_path, images, kd_mlp_run):
    root, _ = images
    regression = _with_metadata(tmp_path, kd_mlp_run.onnx_path, scores="regression", family="tree")
    r = runner.invoke(app, ["predict", str(regression), str(root), "--proba"])
    assert r.exit_code == 2 and "not probabilities" in r.output and r.output.count("\n") == 1
    vectors = _with_metadata(tmp_path, kd_mlp_run.onnx_path, input_shape='["N", 64]')
    r = runner.invoke(app, ["predict", str(vectors), str(root)])
    assert r.exit_code == 2 and "not (N, C, H, W)" in r.output
    (tmp_path / "empty").mkdir()
    r = runner.invoke(app, ["predict", str(kd_mlp_run.onnx_path), str(tmp_path / "empty")])
    assert r.exit_code == 2 and "no images" in r.output
