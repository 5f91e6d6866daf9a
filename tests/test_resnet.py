"""ResNet teachers and students: structure, named layers, 2-D and 1-D, CLI, export parity."""

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

from kdedge import nets
from kdedge.cli import app
from kdedge.errors import OptionError

runner = CliRunner()


def kdedge(*args):
    return runner.invoke(app, [str(a) for a in args])


def _resnet(shape, **args):
    stats = np.zeros((shape[0],) + (1,) * (len(shape) - 1), np.float32)
    return nets.build("resnet", shape, 10, stats, stats + 1, **args)


@pytest.mark.parametrize("depth, blocks", [(8, 1), (14, 2), (20, 3)])
def test_depth_is_6n_plus_2_with_three_named_stages(depth, blocks):
    net = _resnet((1, 8, 8), depth=depth, width=16)
    stages = [net.get_submodule(f"stage{i}") for i in (1, 2, 3)]
    assert [len(s) for s in stages] == [blocks] * 3
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) + 1 == depth  # 3x3 convs + the final linear layer (shortcuts are 1x1)


def test_stages_halve_the_map_only_while_it_stays_at_least_4_wide():
    shapes = {r["layer"]: r["output_shape"] for r in nets.layer_table(_resnet((1, 8, 8)), (1, 8, 8))}
    assert shapes["stage1"] == [16, 8, 8] and shapes["stage2"] == [32, 4, 4] and shapes["stage3"] == [64, 4, 4]
    shapes = {r["layer"]: r["output_shape"] for r in nets.layer_table(_resnet((2, 40), width=8), (2, 40))}
    assert shapes["stem"] == [8, 40] and shapes["stage2"] == [16, 20] and shapes["stage3"] == [32, 10]
    assert shapes["fc"] == [10]


def test_bad_depth_and_bad_layer_are_clear():
    with pytest.raises(OptionError, match="6n\\+2"):
        _resnet((1, 8, 8), depth=10)
    with pytest.raises(OptionError, match="stage1"):
        nets.capture(_resnet((1, 8, 8)), torch.zeros(2, 1, 8, 8), ["stage9"])


def test_capture_can_stop_after_the_last_wanted_layer():
    net = _resnet((1, 8, 8)).eval()
    ran = []
    net.fc.register_forward_hook(lambda *_: ran.append("fc"))
    found = nets.capture(net, torch.zeros(3, 1, 8, 8), ["stage1", "stem"], stop_early=True)
    assert set(found) == {"stem", "stage1"} and found["stage1"].shape == (3, 16, 8, 8) and ran == []
    nets.capture(net, torch.zeros(3, 1, 8, 8), ["stage1"])
    assert ran == ["fc"]


def test_resnet_teacher_layers_student_and_export(tmp_path, digits):
    teacher = tmp_path / "teacher"
    r = kdedge(
        "teacher", "train", "--arch", "resnet", "--depth", 14, "--width", 8, "--epochs", 3, "--out", teacher, "--json"
    )
    assert r.exit_code == 0, r.output
    manifest = json.loads((teacher / "kdedge.json").read_text())
    assert manifest["family"] == "resnet" and manifest["student"]["params"]["depth"] == 14

    r = kdedge("teacher", "layers", teacher, "--json")
    assert r.exit_code == 0, r.output
    rows = {row["layer"]: row for row in json.loads(r.output)}
    assert rows["stage2"]["output_shape"] == [16, 4, 4] and rows["stage2.1.conv2"]["type"] == "Conv2d"
    r = kdedge("teacher", "layers", teacher, "--depth", 1)
    assert r.exit_code == 0 and "stage3" in r.output and "stage3.0" not in r.output

    student = tmp_path / "student"
    r = kdedge(
        "distill", "--teacher", teacher, "--student", "resnet", "--depth", 8, "--width", 4, "--epochs", 2,
        "--out", student,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    params = json.loads((student / "kdedge.json").read_text())["student"]["params"]
    assert params["depth"] == 8 and params["width"] == 4

    r = kdedge("export", student)
    assert r.exit_code == 0 and "labels 100.00%" in r.output, r.output
    session = ort.InferenceSession(str(student / "model.onnx"), providers=["CPUExecutionProvider"])
    x, _ = digits.split("test")
    for batch in (x[:1], x[:9]):
        scores, labels = session.run(None, {"input": batch})
        assert scores.shape == (len(batch), 10) and labels.shape == (len(batch),)


def test_resnet_on_sequences_exports_a_1d_graph(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 30)
    x = rng.normal(size=(90, 2, 24)).astype(np.float32)
    x[:, 0, :8] += y[:, None]  # learnable: the class shifts the start of channel 0
    data = tmp_path / "seq.npz"
    np.savez(data, x=x, y=y)
    out = tmp_path / "seq"
    r = kdedge("distill", "--method", "hard", "--data", data, "--student", "resnet", "--width", 4, "--epochs", 2,
               "--out", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    r = kdedge("export", out)
    assert r.exit_code == 0 and "labels 100.00%" in r.output, r.output
