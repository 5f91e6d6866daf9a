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
