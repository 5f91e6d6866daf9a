"""ONNX export: outputs, dynamic batch, metadata and the parity gate."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from kdedge.convert import export_run
from kdedge.errors import ExportError
from kdedge.students import load_student


@pytest.mark.parametrize("fixture", ["teacher_run", "kd_mlp_run"])
def test_exported_graph_matches_native_model_at_batch_1_and_n(request, fixture, digits):
    run = request.getfixturevalue(fixture)
    session = ort.InferenceSession(str(run.onnx_path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert [o.name for o in session.get_outputs()] == ["scores", "label"]
    native = load_student(run)
    x, _ = digits.split("test")
    for batch in (x[:1], x[:37]):
        scores, labels = session.run(None, {"input": batch})
        assert scores.shape == (len(batch), 10) and scores.dtype == np.float32
        assert labels.shape == (len(batch),) and labels.dtype == np.int64
        np.testing.assert_allclose(scores, native.scores(batch), rtol=1e-3, atol=1e-5)
        np.testing.assert_array_equal(labels, native.predict(batch))


def test_metadata_describes_the_model(kd_mlp_run, teacher_run):
    meta = {p.key: p.value for p in onnx.load(str(kd_mlp_run.onnx_path)).metadata_props}
    assert json.loads(meta["kdedge.class_names"]) == [str(i) for i in range(10)]
    assert json.loads(meta["kdedge.input_shape"]) == ["N", 1, 8, 8]
    norm = json.loads(meta["kdedge.normalization"])
    assert "inside" in norm["applied"] and len(norm["mean"]) == 1
    assert meta["kdedge.run"] == "mlp" and meta["kdedge.run_fingerprint"] == kd_mlp_run.manifest.weights_sha256
    teacher = json.loads(meta["kdedge.teacher"])
    assert teacher["fingerprint"] == teacher_run.manifest.weights_sha256 and teacher["name"] == "teacher"
    assert "path" not in teacher  # a shipped file holds names, never the workstation's paths
    assert int(meta["kdedge.n_params"]) == kd_mlp_run.manifest.student.n_params
    assert meta["kdedge.version"]
    assert kd_mlp_run.manifest.export["parity"]["label_agreement"] == 1.0


def test_parity_failure_leaves_no_model(kd_mlp_run, tmp_path, monkeypatch):
    import shutil

    from kdedge.students.neural import MLPStudent

    copy = tmp_path / "mlp"
    shutil.copytree(kd_mlp_run.path, copy)
    (copy / "model.onnx").unlink()
    real_scores = MLPStudent.scores
    monkeypatch.setattr(MLPStudent, "scores", lambda self, x: real_scores(self, x) + 0.5)
    with pytest.raises(ExportError, match="does not match the native model"):
        export_run(copy)
    assert not (copy / "model.onnx").exists()
    assert not list(copy.glob("*.partial"))
