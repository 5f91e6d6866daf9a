"""Teachers trained elsewhere: TorchScript, ONNX, weights + factory; checked against the data before training."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.errors import DataError, OptionError, RunError
from kdedge.teachers import TEACHER_KINDS, load_teacher

runner = CliRunner()

FACTORY = """
from kdedge import nets

def build():
    # mean/std are buffers: the weights file brings the trained values
    return nets.build("cnn", (1, 8, 8), 10, [[[0.0]]], [[[1.0]]], channels=(32, 64, 64))
"""


class _Pickled:
    pass


def kdedge(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def files(tmp_path_factory, teacher_run):
    """The shared digits teacher as the files a user would bring: .pt (TorchScript), .onnx, weights + factory."""
    from kdedge.students import load_student

    folder = tmp_path_factory.mktemp("external")
    module = load_student(teacher_run).module.eval()
    with torch.no_grad():
        traced = torch.jit.trace(module, torch.zeros(2, 1, 8, 8))
    names = json.dumps([str(i) for i in range(10)])
    torch.jit.save(traced, str(folder / "teacher.pt"), _extra_files={"class_names.json": names})
    state = {k: v.contiguous() for k, v in module.state_dict().items()}
    from safetensors.torch import save_file

    save_file(state, str(folder / "teacher.safetensors"))
    torch.save(state, folder / "teacher.pth")
    (folder / "my_factory.py").write_text(FACTORY)
    return {
        "pt": folder / "teacher.pt",
        "onnx": teacher_run.onnx_path,
        "safetensors": folder / "teacher.safetensors",
        "pth": folder / "teacher.pth",
        "factory": f"{folder / 'my_factory.py'}:build",
        "folder": folder,
    }


def test_every_kind_gives_the_run_teachers_logits(files, teacher_run, digits):
    reference = load_teacher(teacher_run.path).bind(digits)
    x = digits.split("test")[0][:64]
    expected = reference.logits(x)
    loaded = {
        "torchscript": load_teacher(files["pt"]),
        "onnx": load_teacher(files["onnx"]),
        "weights": load_teacher(files["safetensors"], factory=files["factory"]),
        "weights (.pth)": load_teacher(files["pth"], factory=files["factory"]),
    }
    for kind, teacher in loaded.items():
        teacher.bind(digits)
        np.testing.assert_allclose(teacher.logits(x), expected, rtol=1e-4, atol=1e-4, err_msg=kind)
        assert teacher.sample_shape == (1, 8, 8) and teacher.n_classes == 10 and teacher.outputs == "logits"
    # fingerprint: the file's sha256 (weights: mixed with the factory, which shapes the outputs too)
    assert loaded["torchscript"].fingerprint == hashlib.sha256(files["pt"].read_bytes()).hexdigest()
    assert loaded["weights"].sha256 == hashlib.sha256(files["safetensors"].read_bytes()).hexdigest()
    assert loaded["weights"].fingerprint != loaded["weights"].sha256
    assert loaded["torchscript"].known_class_names == [str(i) for i in range(10)]  # from the archive
    # only plain modules expose layers for feature methods
    assert [t.has_features for t in loaded.values()] == [False, False, True, True]
    assert not hasattr(loaded["onnx"], "features") and not hasattr(loaded["torchscript"], "features")
    feats = loaded["weights"].features(x[:4], ["2"])
    assert feats["2"].shape == (4, 32, 8, 8)
    assert {"run", "onnx", "torchscript", "weights"} <= set(TEACHER_KINDS)


def test_teacher_files_checked_against_the_data(files, tmp_path):
    rng = np.random.default_rng(0)
    small = tmp_path / "small.npz"
    np.savez(small, x=rng.random((30, 3, 8, 8)), y=np.repeat(np.arange(10), 3))  # RGB, not gray
    three = tmp_path / "three.npz"
    np.savez(three, x=rng.random((30, 1, 8, 8)), y=np.repeat(np.arange(3), 10))
    letters = tmp_path / "letters.npz"
    np.savez(
        letters, x=rng.random((30, 1, 8, 8)), y=np.repeat(np.arange(10), 3), class_names=np.array(list("abcdefghij"))
    )
    from kdedge.data import load_dataset

    cases = [
        ("onnx", small, "takes inputs of shape \\(\\?, 1, 8, 8\\).*has samples of shape \\(3, 8, 8\\)"),
        ("pt", small, "cannot run on inputs of shape \\(2, 3, 8, 8\\)"),
        ("pt", three, "outputs 10 class scores but three.npz has 3 classes"),
        ("onnx", letters, "has classes \\['0', '1'.*letters.npz has \\['a', 'b'"),
        ("pt", letters, "has classes \\['0', '1'"),
    ]
    for kind, data, message in cases:
        with pytest.raises(DataError, match=message):
            load_teacher(files[kind]).bind(load_dataset(str(data)))
    # a weights teacher carries no class names: it takes the data's, if the count fits
    with pytest.warns(UserWarning, match="chance"):  # random inputs: the teacher is right by chance only
        weights = load_teacher(files["safetensors"], factory=files["factory"]).bind(load_dataset(str(letters)))
    assert weights.class_names == list("abcdefghij")


def test_loader_errors_name_the_fix(files, tmp_path):
    with pytest.raises(OptionError, match="holds weights only; pass --factory"):
        load_teacher(files["safetensors"])
    with pytest.raises(OptionError, match="--factory applies to weights files"):
        load_teacher(files["onnx"], factory=files["factory"])
    with pytest.raises(RunError, match="no such teacher"):
        load_teacher(tmp_path / "missing.onnx")
    with pytest.raises(OptionError, match="cannot import no_such_pkg"):
        load_teacher(files["pth"], factory="no_such_pkg.models:build")
    with pytest.raises(OptionError, match="expected package.module:function"):
        load_teacher(files["pth"], factory="just_a_name")
    bad_pt = tmp_path / "state.pt"
    torch.save({"w": torch.zeros(2)}, bad_pt)  # a state_dict is not TorchScript
    with pytest.raises(OptionError, match="not a TorchScript archive"):
        load_teacher(bad_pt)
    wrong = tmp_path / "wrong.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(wrong))
    with pytest.raises(DataError, match="do not fit the model built by"):
        load_teacher(wrong, factory=files["factory"])
    pickled = tmp_path / "object.pth"
    torch.save({"model": _Pickled()}, pickled)  # a class of ours: only full unpickling could build it
    with pytest.raises(DataError, match="weights_only=True"):
        load_teacher(pickled, factory=files["factory"])


def test_onnx_teacher_with_probability_outputs_and_fixed_batch(tmp_path, digits):
    """A graph that ends in softmax, exported with batch 1: logits are recovered as log-probabilities."""
    import onnx
    from onnx import TensorProto, helper

    w = (0.02 * np.random.default_rng(0).standard_normal((64, 10))).astype(np.float32)  # probabilities stay > 0
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["input"], ["flat"]),
            helper.make_node("MatMul", ["flat", "w"], ["z"]),
            helper.make_node("Softmax", ["z"], ["probs"], axis=1),
        ],
        "probs",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])],
        [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.ravel())],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "probs.onnx"
    onnx.save(model, path)
    with pytest.warns(UserWarning, match="scaled and laid out"):  # random weights: near chance
        teacher = load_teacher(path).bind(digits)
    x = digits.split("test")[0][:5]
    z = x.reshape(5, -1) @ w
    expected = z - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)) - z.max(1, keepdims=True)
    assert teacher.outputs == "probabilities" and teacher.batch_size == 1
    np.testing.assert_allclose(teacher.logits(x), expected, atol=1e-3)


def test_distill_from_files_export_and_teacher_eval(files, tmp_path, teacher_run):
    out = tmp_path / "mlp-from-pt"
    r = kdedge("distill", "--teacher", files["pt"], "--data", "digits", "--hidden", 32, "--epochs", 8, "--out", out)
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "kdedge.json").read_text())
    assert manifest["teacher"]["kind"] == "torchscript" and manifest["teacher"]["path"] == str(files["pt"].resolve())
    assert manifest["metrics"]["test_agreement_with_teacher"] > 0.8
    r = kdedge("export", out)
    assert r.exit_code == 0, r.output
    import onnx

    meta = {p.key: p.value for p in onnx.load(out / "model.onnx").metadata_props}
    assert json.loads(meta["kdedge.teacher"])["fingerprint"] == hashlib.sha256(files["pt"].read_bytes()).hexdigest()

    # teachers from files need --data (a kdedge-exported .onnx records its own); feature methods refuse
    # logits-only teachers
    r = kdedge("distill", "--teacher", files["pt"], "--out", tmp_path / "x")
    assert r.exit_code == 2 and "pass --data" in r.output
    r = kdedge(
        "distill", "--teacher", files["onnx"], "--data", "digits", "--method", "fitnets", "--out", tmp_path / "y"
    )
    assert r.exit_code == 2 and "layers" in r.output, r.output

    # teacher eval: the ONNX teacher on digits reproduces the run's own test accuracy
    r = kdedge("teacher", "eval", files["onnx"], "--data", "digits", "--min-runs", 20, "--min-seconds", 0.05, "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)
    assert result["accuracy"] == pytest.approx(teacher_run.manifest.metrics["test_accuracy"])
    assert result["latency"]["runtime"] == "onnxruntime" and result["latency"]["runs"] >= 20
    assert len(result["per_class"]) == 10 and sum(c["samples"] for c in result["per_class"]) == result["samples"]
    # without --data: the data and split seed its export recorded (kdedge.data_source, kdedge.data_seed)
    r = kdedge("teacher", "eval", files["onnx"], "--min-runs", 20, "--min-seconds", 0.05, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["accuracy"] == result["accuracy"] and json.loads(r.output)["data"]["name"] == "digits"
    r = kdedge("teacher", "eval", files["pt"], "--data", "digits", "--min-runs", 20, "--min-seconds", 0.05)
    assert r.exit_code == 0, r.output
    assert "torch eager" in r.output and "per-class accuracy" in r.output
    r = kdedge("teacher", "eval", teacher_run.path, "--min-runs", 20, "--min-seconds", 0.05, "--json")
    assert r.exit_code == 0 and json.loads(r.output)["latency"]["runtime"] == "onnxruntime (model.onnx)"  # exported
    r = kdedge("teacher", "eval", files["pt"])
    assert r.exit_code == 2 and "pass --data" in r.output


def test_onnx_teacher_whose_recorded_data_is_gone_asks_for_data(files, tmp_path):
    import onnx

    model = onnx.load(files["onnx"])
    for prop in model.metadata_props:
        if prop.key == "kdedge.data_source":
            prop.value = str(tmp_path / "moved-away.npz")
    path = tmp_path / "teacher.onnx"
    onnx.save(model, path)
    r = kdedge("teacher", "eval", path, "--min-runs", 5, "--min-seconds", 0)
    assert r.exit_code == 2 and "moved-away.npz', which is not beside it; pass --data" in r.output, r.output
