"""int8 C export (`--target c-int8`, `mcu-cortex-m4-int8`): the integer arithmetic checked by hand, the C equal to
it on the test split, the accuracy budget against the fp32 graph, bench rows, Cortex-M4 sizes, QEMU, refusals,
and re-exporting into a C folder (replaced when kdedge made it, refused when the user put a file there)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.convert import export_run
from kdedge.convert.c import int8_mlp, reference_outputs
from kdedge.convert.c.int8_mlp import _fixed_point, quantize_input, quantize_mlp
from kdedge.convert.c.mcu import toolchain_missing
from kdedge.convert.c.qemu import missing_tools as qemu_missing
from kdedge.errors import ExportError
from kdedge.measure import c_harness
from kdedge.runs import Run

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None, reason="no C compiler (cc); see scripts/install-system-deps.sh"
)


def test_input_rounding_is_half_away_from_zero_and_clamped():
    x = np.array([[0.5, -0.5, 1.4999, -2.5, 300.0, -300.0, 0.0, np.nan, np.inf]], np.float32)
    assert quantize_input(x, np.float32(1.0)).tolist() == [[1, -1, 1, -3, 127, -127, 0, 0, 127]]


def test_fixed_point_multiplier_and_shift_reproduce_the_factor():
    factors = np.array([0.75, 1e-3, 0.3, 2.5])
    multiplier, shift = _fixed_point(factors)
    assert multiplier.tolist()[0] == 3 << 29 and shift.tolist()[0] == 31  # 0.75 = (3 * 2^29) * 2^-31
    assert np.all(multiplier >= 2**30) and np.all(multiplier.astype(np.int64) < 2**31)
    assert np.allclose(multiplier * 2.0 ** (-shift.astype(float)), factors, rtol=2**-30)


def test_quantized_two_layer_net_matches_a_hand_computation():
    # 2 inputs -> 2 hidden (ReLU) -> 2 scores; calibration puts the input range at 1.0 and hidden range at 2.54
    w1 = np.array([[1.0, 0.5], [-1.0, 0.25]])
    b1 = np.array([0.0, 0.1])
    w2 = np.array([[1.0, -1.0], [0.5, 0.5]])
    b2 = np.array([0.0, 0.0])
    calibration = np.array([[1.0, 1.0], [-1.0, 0.0]])  # hidden outputs: [1.5, 0], [0, 1.1]: max 1.5
    model = quantize_mlp([w1, w2], [b1, b2], calibration)
    s_in = 1 / 127
    assert model.input_inv_scale == np.float32(127.0)
    first, last = model.layers
    # per-row weight scales: max |w| / 127 -> row 0: 1/127, row 1: 1/127
    assert first.weights.tolist() == [[127, 64], [-127, 32]]  # 0.5 * 127 = 63.5 -> 64 (rint: half to even)
    assert first.biases.tolist() == [0, round(0.1 / (s_in * (1 / 127)))]  # 0.1 * 127^2 = 1612.9 -> 1613
    s_hidden = 1.5 / 255
    factor = s_in * (1 / 127) / s_hidden
    assert np.allclose(first.multiplier * 2.0 ** -first.shift.astype(float), factor, rtol=2**-30)
    # input [0.5, 1.0] -> q = [64, 127]; hidden sums 127*64 + 64*127 = 16256 and -127*64 + 32*127 + 1613 = -2451
    # -> ReLU 0; hidden uint8 = round(16256 * factor) = 171
    assert round(16256 * factor) == 171
    # layer 2: row scales 1/127 and 0.5/127 -> weights [[127, -127], [127, 127]]; sums 127 * 171 both
    # scores = sum * hidden scale * row scale = 171 * (1.5 / 255) * [1, 0.5]
    scores, labels = model.predict(np.array([[0.5, 1.0]], np.float32))
    assert last.weights.tolist() == [[127, -127], [127, 127]]
    assert np.allclose(scores[0], [171 * 1.5 / 255, 171 * 1.5 / 255 * 0.5], rtol=1e-6) and labels.tolist() == [0]
    assert np.allclose(scores[0], [1.0, 0.5], atol=0.01)  # the float net: relu([1.0, -0.15]) -> [1.0, 0.5]
    assert last.out_scale is not None and last.multiplier is None


def test_too_wide_a_layer_for_int32_sums_is_refused():
    w = np.ones((1, 140_000))  # 140,000 * 127 * 127 > 2^31
    with pytest.raises(ExportError, match="too wide for int32 sums"):
        quantize_mlp([w, np.ones((2, 1))], [np.zeros(1), np.zeros(2)], np.ones((2, 140_000)))


def _copy(run, tmp_path, name="mlp"):
    run_dir = tmp_path / name
    shutil.copytree(run.path, run_dir)
    return run_dir


def test_int8_c_export_through_the_cli(kd_mlp_run, digits, tmp_path):
    run_dir = _copy(kd_mlp_run, tmp_path)
    result = CliRunner().invoke(app, ["export", str(run_dir), "--target", "c-int8", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)[str(run_dir)]
    assert info["precision"] == "int8" and info["function"] == "kdedge_mlp_int8_predict"
    run = Run.load(run_dir)
    assert run.manifest.c_int8_export["prefix"] == "kdedge_mlp_int8" and run.manifest.c_export is None
    assert sorted(p.name for p in (run_dir / "c-int8").iterdir()) == sorted(info["files"])
    source = (run_dir / "c-int8" / "kdedge_mlp_int8.c").read_text()
    assert "static const int8_t kdedge_mlp_int8_l0_w[" in source and "float w" not in source
    graph = info["parity"]["against_fp32_graph"]
    assert graph["accuracy_drop_points"] <= 1.0 and graph["agreement_with_fp32"] > 0.97
    # compiled again from the files as written, the C equals kdedge's integer arithmetic exactly
    from kdedge.convert.c import c_core
    from kdedge.students import load_student

    x = digits.split("test")[0].copy()
    x[0, 0, 3, 3], x[1, 0, 0, 0] = np.nan, np.inf  # defined in C too: NaN counts as 0, inf is clamped
    exe = c_harness.build(run_dir / "c-int8" / "kdedge_mlp_int8.c", "kdedge_mlp_int8", 64, 10, tmp_path)
    scores, labels = c_harness.predict(exe, x, 10)
    core = c_core(run, load_student(run), "int8", 256)
    ref_scores, ref_labels = reference_outputs(core, x)
    assert np.array_equal(labels, ref_labels) and np.array_equal(scores, ref_scores)


def test_int8_c_over_the_accuracy_budget_writes_nothing(kd_mlp_run, tmp_path, monkeypatch):
    run_dir = _copy(kd_mlp_run, tmp_path)
    monkeypatch.setattr(int8_mlp, "INPUT_MAX", 1)  # ternary inputs, binary activations: far below the fp32 graph
    monkeypatch.setattr(int8_mlp, "HIDDEN_MAX", 1)
    result = CliRunner().invoke(app, ["export", str(run_dir), "--target", "c-int8"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "over the 1-point budget of target 'c-int8'; no C files written" in result.output
    assert not (run_dir / "c-int8").exists() and Run.load(run_dir).manifest.c_int8_export is None


def test_family_without_an_int8_c_path_exits_2_in_one_line(tmp_path, digits, teacher_run):
    from kdedge.distillation.methods import make_method
    from kdedge.distillation.run import fit_run

    run = fit_run(
        out=tmp_path / "tree", kind="student", family="tree", options={"max_depth": 4}, method=make_method("hard"),
        dataset=digits, data_source="digits", seed=0, teacher=None,
    )  # fmt: skip
    export_run(run.path)
    result = CliRunner().invoke(app, ["export", str(run.path), "--target", "c-int8"])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "no int8 C export for the tree family" in line and "mlp" in line and "--target c" in line
    assert not (run.path / "c-int8").exists()


def test_bench_shows_fp32_and_int8_c_rows(kd_mlp_run, tmp_path):
    import kdedge

    run_dir = _copy(kd_mlp_run, tmp_path)
    export_run(run_dir, target="c")
    export_run(run_dir, target="c-int8")
    result = kdedge.bench([run_dir], data="digits", memory=False, min_runs=20, min_seconds=0.05)
    rows = {r["name"]: r for r in result.rows}
    assert {"mlp", "mlp C", "mlp C int8", "C floor"} <= set(rows)
    assert rows["mlp C int8"]["precision"] == "int8" and rows["mlp C"]["precision"] == "fp32"
    assert abs(rows["mlp C int8"]["accuracy"] - rows["mlp"]["accuracy"]) <= 0.01
    assert "mlp C int8" in str(result)


def test_c_export_replaces_its_own_folder_but_not_a_users_file(kd_mlp_run, tmp_path):
    run_dir = _copy(kd_mlp_run, tmp_path)
    for target, folder in (("c", "c"), ("c-int8", "c-int8")):
        assert CliRunner().invoke(app, ["export", str(run_dir), "--target", target]).exit_code == 0
        again = CliRunner().invoke(app, ["export", str(run_dir), "--target", target])
        assert again.exit_code == 0, again.output  # a second export replaces what the first one wrote
        (run_dir / folder / "notes.txt").write_text("mine")
        before = {p.name: p.read_bytes() for p in (run_dir / folder).iterdir()}
        refused = CliRunner().invoke(app, ["export", str(run_dir), "--target", target])
        assert refused.exit_code == 2 and len(refused.output.strip().splitlines()) == 1
        assert "holds notes.txt, which kdedge's C export did not write" in refused.output
        assert {p.name: p.read_bytes() for p in (run_dir / folder).iterdir()} == before


@pytest.mark.skipif(toolchain_missing() is not None, reason=str(toolchain_missing()))
def test_int8_weights_take_a_quarter_of_the_flash(kd_mlp_run, tmp_path):
    run_dir = _copy(kd_mlp_run, tmp_path)
    export_run(run_dir, target="mcu-cortex-m4")
    export_run(run_dir, target="mcu-cortex-m4-int8")
    manifest = Run.load(run_dir).manifest
    fp32, int8 = manifest.c_export["mcu"], manifest.c_int8_export["mcu"]
    weights = 64 * 64 + 64 * 10  # the kd_mlp fixture: 64 -> 64 -> 10
    assert fp32["sections_bytes"]["rodata"] >= 4 * weights
    assert weights <= int8["sections_bytes"]["rodata"] < fp32["sections_bytes"]["rodata"] / 2
    assert int8["flash_kb"] < fp32["flash_kb"] / 2


@pytest.mark.skipif(qemu_missing() is not None, reason=str(qemu_missing()))
def test_int8_c_on_an_emulated_cortex_m4_equals_its_integer_arithmetic(kd_mlp_run, tmp_path):
    from kdedge.convert.c.qemu import main

    run_dir = _copy(kd_mlp_run, tmp_path)
    export_run(run_dir, target="c-int8")
    assert main([str(run_dir), "--int8", "--samples", "60"]) == 0


def test_the_board_gets_both_c_folders(kd_mlp_run, tmp_path):
    from kdedge.measure.board.remote import _stage_run

    run_dir = _copy(kd_mlp_run, tmp_path)
    export_run(run_dir, target="c")
    export_run(run_dir, target="c-int8")
    _stage_run(run_dir, tmp_path / "staged")
    assert (tmp_path / "staged" / "c" / "kdedge_mlp.c").is_file()
    assert (tmp_path / "staged" / "c-int8" / "kdedge_mlp_int8.c").is_file()
