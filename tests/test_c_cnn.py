"""CNN students as C (`kdedge export RUN --target c` on the cnn family): BatchNorm folded as torch computes it,
2-D images and 1-D sequences parity-checked against the ONNX graph, bench rows, Cortex-M4 sizes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from test_sequences import synthetic_sequences
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.convert.c.fp32_cnn import _fold
from kdedge.convert.c.mcu import toolchain_missing
from kdedge.convert.parity import run_onnx
from kdedge.measure import c_harness
from kdedge.runs import Run

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None, reason="no C compiler (cc); see scripts/install-system-deps.sh"
)


@pytest.mark.parametrize("dims", [1, 2])
def test_folded_batchnorm_equals_conv_then_batchnorm_in_eval_mode(dims):
    torch.manual_seed(0)
    conv = (torch.nn.Conv1d if dims == 1 else torch.nn.Conv2d)(3, 4, 3, padding=1)
    bn = (torch.nn.BatchNorm1d if dims == 1 else torch.nn.BatchNorm2d)(4)
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0, 0.0]))
        bn.running_var.copy_(torch.tensor([4.0, 0.25, 1.0, 9.0]))
        bn.weight.copy_(torch.tensor([1.0, 2.0, -0.5, 3.0]))
        bn.bias.copy_(torch.tensor([0.1, 0.0, -0.2, 1.0]))
    bn.eval()
    x = torch.randn(2, 3, *([6] * dims))
    expected = bn(conv(x)).detach()
    weight, bias = _fold(conv, bn, dims)
    assert weight.shape == (4, 3, 1 if dims == 1 else 3, 3)  # a sequence is an image one row high
    folded = torch.nn.functional.conv2d(
        x if dims == 2 else x[:, :, None, :], torch.from_numpy(weight), torch.from_numpy(bias), padding=(dims - 1, 1)
    )
    got = folded if dims == 2 else folded[:, :, 0, :]
    # channel 0 by hand: scale 1 / sqrt(4 + eps) = 0.5 -> (conv - 0.5) * 0.5 + 0.1
    assert torch.allclose(got[:, 0], (conv(x)[:, 0] - 0.5) * 0.5 + 0.1, atol=1e-5)
    assert torch.allclose(got, expected, atol=1e-5)


def _c_equals_graph(run_dir, x, tmp_path):
    info = Run.load(run_dir).manifest.c_export
    exe = c_harness.build(run_dir / "c" / f"{info['prefix']}.c", info["prefix"], info["n_features"],
                          info["n_classes"], tmp_path)  # fmt: skip
    scores, labels = c_harness.predict(exe, x, info["n_classes"])
    ref_scores, ref_labels = run_onnx((run_dir / "model.onnx").read_bytes(), x)
    assert np.array_equal(labels, ref_labels)
    assert np.all(np.abs(scores - ref_scores) <= 1e-5 * np.abs(ref_scores).max() + 1e-5)


def test_a_2d_cnn_as_c_matches_its_graph_and_has_bench_rows(teacher_run, digits, tmp_path):
    import kdedge

    run_dir = tmp_path / "cnn"
    shutil.copytree(teacher_run.path, run_dir)
    result = CliRunner().invoke(app, ["export", str(run_dir), "--target", "c", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)[str(run_dir)]
    assert info["library"] == "kdedge (hand-written)" and info["parity"]["label_agreement"] == 1.0
    assert "BatchNorm" in (run_dir / "c" / "kdedge_cnn.c").read_text()  # folded, and the comment says so
    _c_equals_graph(run_dir, digits.split("test")[0][:200], tmp_path)
    bench = kdedge.bench([run_dir], memory=False, min_runs=10, min_seconds=0.0)
    rows = {r["name"]: r for r in bench.rows}
    assert rows["cnn C"]["accuracy"] == pytest.approx(rows["cnn"]["accuracy"])


def test_a_1d_cnn_on_sequences_as_c(tmp_path):
    x, y, names = synthetic_sequences(n_per_class=30, length=20)
    data = tmp_path / "waves.npz"
    np.savez(data, x=x, y=y, class_names=names)
    run_dir = tmp_path / "seq"
    runner = CliRunner()
    trained = runner.invoke(app, ["teacher", "train", "--data", str(data), "--channels", "4,8", "--epochs", "3",
                                  "--out", str(run_dir)])  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert runner.invoke(app, ["export", str(run_dir)]).exit_code == 0
    result = runner.invoke(app, ["export", str(run_dir), "--target", "c"])
    assert result.exit_code == 0, result.output
    _c_equals_graph(run_dir, x, tmp_path)  # every sequence, the pooled length 20 -> 10 included


@pytest.mark.skipif(toolchain_missing() is not None, reason=str(toolchain_missing()))
def test_cnn_sizes_on_a_cortex_m4(teacher_run, tmp_path):
    run_dir = tmp_path / "cnn"
    shutil.copytree(teacher_run.path, run_dir)
    result = CliRunner().invoke(app, ["export", str(run_dir), "--target", "mcu-cortex-m4"])
    assert result.exit_code == 0, result.output
    mcu = Run.load(run_dir).manifest.c_export["mcu"]
    params = sum(p.numel() for p in _module(run_dir).parameters() if p.dim() > 1)  # conv and linear weights
    assert mcu["sections_bytes"]["rodata"] >= 4 * params
    # two ping-pong maps, each as large as the largest written to it: 32 x 8 x 8 (block 1), 64 x 8 x 8 (block 2)
    assert 4 * (32 + 64) * 8 * 8 <= mcu["sections_bytes"]["bss"] < 2 * 4 * 64 * 8 * 8


def _module(run_dir):
    from kdedge.students import load_student

    return load_student(Run.load(run_dir)).module


def test_int8_cnn_arithmetic_by_hand():
    from kdedge.convert.c.fp32_cnn import Shape
    from kdedge.convert.c.int8_cnn import Int8CNN, QStep

    one = np.array([1], np.int32)
    conv = QStep(
        "conv",
        Shape(1, 1, 3),
        Shape(1, 1, 3),
        np.array([[1, 2, 3]], np.int8),
        np.array([0], np.int32),
        multiplier=one * 2**30,
        shift=one * 31,
        kernel=(1, 3),
    )  # fmt: skip  (x 0.5, rounded half up)
    gap = QStep("gap", Shape(1, 1, 3), Shape(1, 1, 1))
    linear = QStep(
        "linear", Shape(1, 1, 1), Shape(2, 1, 1), np.array([[2], [-1]], np.int8), np.array([1, 0], np.int32),
        out_scale=np.array([0.5, 1.0], np.float32),
    )  # fmt: skip
    model = Int8CNN(np.float32(1.0), (conv, gap, linear))
    # input [1, 2, 3]; padded taps: x=0: 0*1 + 1*2 + 2*3 = 8, x=1: 1 + 4 + 9 = 14, x=2: 2 + 6 + 0 = 8
    # -> x 0.5 -> 4, 7, 4; sum 15; scores (2*15 + 1) * 0.5 = 15.5 and -15 * 1.0 = -15
    scores, labels = model.predict(np.array([[1.0, 2.0, 3.0]], np.float32))
    assert scores.tolist() == [[15.5, -15.0]] and labels.tolist() == [0]


@pytest.mark.parametrize("kind", ["image", "sequence"])
def test_int8_cnn_c_equals_its_integer_arithmetic(kind, teacher_run, digits, tmp_path):
    from kdedge.convert.c import c_core, reference_outputs
    from kdedge.students import load_student

    if kind == "image":
        run_dir, x = tmp_path / "cnn", digits.split("test")[0]
        shutil.copytree(teacher_run.path, run_dir)
    else:
        xs, y, names = synthetic_sequences(n_per_class=30, length=20)
        np.savez(tmp_path / "waves.npz", x=xs, y=y, class_names=names)
        run_dir, x = tmp_path / "seq", xs
        trained = CliRunner().invoke(app, ["teacher", "train", "--data", str(tmp_path / "waves.npz"), "--channels",
                                           "4,8", "--epochs", "3", "--out", str(run_dir)])  # fmt: skip
        assert trained.exit_code == 0, trained.output
        assert CliRunner().invoke(app, ["export", str(run_dir)]).exit_code == 0
    result = CliRunner().invoke(app, ["export", str(run_dir), "--target", "c-int8", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)[str(run_dir)]
    assert info["parity"]["against_fp32_graph"]["accuracy_drop_points"] <= 1.0
    run = Run.load(run_dir)
    exe = c_harness.build(run_dir / "c-int8" / f"{info['prefix']}.c", info["prefix"], info["n_features"],
                          info["n_classes"], tmp_path)  # fmt: skip
    scores, labels = c_harness.predict(exe, x, info["n_classes"])
    ref_scores, ref_labels = reference_outputs(c_core(run, load_student(run), "int8", 256), x)
    assert np.array_equal(labels, ref_labels) and np.array_equal(scores, ref_scores)


@pytest.mark.skipif(toolchain_missing() is not None, reason=str(toolchain_missing()))
def test_int8_cnn_takes_about_a_quarter_of_the_flash(teacher_run, tmp_path):
    run_dir = tmp_path / "cnn"
    shutil.copytree(teacher_run.path, run_dir)
    for target in ("mcu-cortex-m4", "mcu-cortex-m4-int8"):
        result = CliRunner().invoke(app, ["export", str(run_dir), "--target", target])
        assert result.exit_code == 0, result.output
    manifest = Run.load(run_dir).manifest
    fp32, int8 = manifest.c_export["mcu"], manifest.c_int8_export["mcu"]
    assert int8["sections_bytes"]["rodata"] < fp32["sections_bytes"]["rodata"] / 3
    assert int8["ram_kb"] < fp32["ram_kb"] / 2  # uint8 maps instead of float ones
