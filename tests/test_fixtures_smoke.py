def test_fixtures_build_exported_runs(teacher_run, kd_mlp_run):
    assert teacher_run.onnx_path.is_file() and kd_mlp_run.onnx_path.is_file()
    assert teacher_run.manifest.metrics["test_accuracy"] > 0.9
    assert kd_mlp_run.manifest.teacher["fingerprint"] == teacher_run.manifest.weights_sha256
