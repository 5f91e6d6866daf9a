"""1-D sequences (C, L) go the whole way: 1-D CNN teacher -> MLP student -> ONNX -> bench, and other readers."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from kdedge.cli import app

runner = CliRunner()


def kdedge(*args):
    return runner.invoke(app, [str(a) for a in args])


def synthetic_sequences(n_per_class=40, length=32, seed=0):
    """Two-channel signals: class k is a sine of frequency k+1 (channel 0) and its square (channel 1), noisy."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, length)
    x, y = [], []
    for k in range(3):
        phase = rng.uniform(0, 2 * np.pi, (n_per_class, 1))
        wave = np.sin((k + 1) * t + phase)
        x.append(np.stack([wave, wave**2], axis=1) + 0.3 * rng.standard_normal((n_per_class, 2, length)))
        y.append(np.full(n_per_class, k))
    return np.concatenate(x).astype(np.float32), np.concatenate(y), np.array(["slow", "mid", "fast"])


def test_sequence_teacher_student_export_bench(tmp_path):
    x, y, names = synthetic_sequences()
    data = tmp_path / "waves.npz"
    np.savez(data, x=x, y=y, class_names=names)
    teacher, student = tmp_path / "teacher", tmp_path / "mlp"

    r = kdedge("teacher", "train", "--data", data, "--channels", "8,16", "--epochs", 15, "--out", teacher, "--json")
    assert r.exit_code == 0, r.output
    manifest = json.loads((teacher / "kdedge.json").read_text())
    assert manifest["data"]["layout"] == "sequence" and manifest["data"]["sample_shape"] == [2, 32]
    assert manifest["data"]["normalization"]["shape"] == [2, 1]  # per channel, over time
    assert json.loads(r.output)["test_accuracy"] > 0.6

    r = kdedge("distill", "--teacher", teacher, "--student", "mlp", "--hidden", 16, "--epochs", 15, "--out", student)
    assert r.exit_code == 0, r.output

    r = kdedge("export", teacher, student)
    assert r.exit_code == 0, r.output
    assert r.output.count("labels 100.00%") == 2

    import onnx

    meta = {p.key: p.value for p in onnx.load(student / "model.onnx").metadata_props}
    assert json.loads(meta["kdedge.input_shape"]) == ["N", 2, 32] and meta["kdedge.input_layout"] == "sequence"
    assert json.loads(meta["kdedge.class_names"]) == ["slow", "mid", "fast"]

    out = tmp_path / "bench.json"
    r = kdedge("bench", student, teacher, "--min-runs", 20, "--min-seconds", 0.05, "--no-memory", "--out", out)
    assert r.exit_code == 0, r.output
    rows = {row["name"]: row for row in json.loads(out.read_text())["rows"]}
    assert {"teacher", "mlp", "runtime floor"} <= set(rows)
    assert rows["mlp"]["agreement"] > 0.5 and rows["teacher"]["accuracy"] > 0.6
    assert rows["teacher"]["family"] == "cnn" and rows["mlp"]["family"] == "mlp"


def test_sequences_from_npy_pair_keep_their_layout(tmp_path):
    from kdedge.data import load_dataset

    x, y, _ = synthetic_sequences(n_per_class=5)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    d = load_dataset(str(tmp_path / "x.npy"))
    assert d.layout == "sequence" and d.sample_shape == (2, 32)
    assert d.normalization.mean.shape == (2, 1)
