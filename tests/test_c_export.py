"""C export (`kdedge export RUN --target c`): per-family C parity with the ONNX graph on the host compiler, the
refusals (no C path, parity failure -> no files), the C rows of `kdedge bench`, and Cortex-M4 flash/RAM."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.convert import export_run
from kdedge.convert.c import generators
from kdedge.convert.c.mcu import toolchain_missing
from kdedge.convert.c.qemu import missing_tools as qemu_missing
from kdedge.distillation.methods import make_method
from kdedge.distillation.run import fit_run
from kdedge.errors import ExportError
from kdedge.measure import c_harness
from kdedge.runs import Run
from kdedge.teachers import load_teacher

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None, reason="no C compiler (cc); see scripts/install-system-deps.sh"
)

# (family, options, method): small students on digits, one per C generator path
CASES = [
    ("tree", {"max_depth": 6}, "logits"),
    ("tree", {"max_depth": 6}, "hard"),  # a classifier: class probabilities
    ("forest", {"n_estimators": 5, "max_depth": 5}, "logits"),
    ("gbdt", {"n_estimators": 8, "num_leaves": 6}, "logits"),  # one booster per class
    ("gbdt", {"n_estimators": 8, "num_leaves": 6}, "hard"),  # one multiclass booster (softmax in C)
    ("svm", {"kernel": "rbf"}, "logits"),
    # a small C: libsvm's linear SVRs on the logits converge in ~1 s instead of ~50 s at the default C=10 (the C
    # generator's linear path is the same)
    ("svm", {"kernel": "linear", "C": 0.1}, "logits"),
]


def _student(tmp_path, digits, teacher_run, family, options, method):
    run = fit_run(
        out=tmp_path / family,
        kind="student",
        family=family,
        options=options,
        method=make_method(method),
        dataset=digits,
        data_source="digits",
        seed=0,
        teacher=None if method == "hard" else load_teacher(teacher_run.path),
    )
    export_run(run.path)
    return Run.load(run.path)


def _c_outputs(run: Run, x, tmp_path):
    info = run.manifest.c_export
    exe = c_harness.build(run.path / "c" / f"{info['prefix']}.c", info["prefix"], 64, 10, tmp_path)
    return c_harness.predict(exe, x, info["n_classes"])


def _onnx_outputs(run: Run, x):
    from kdedge.convert.parity import run_onnx

    return run_onnx(run.onnx_path.read_bytes(), x)


def _check_pair(run: Run, digits, tmp_path):
    info = run.manifest.c_export
    assert info["parity"]["label_agreement"] == 1.0 and info["parity"]["samples"] == len(digits.split("test")[0])
    names = sorted(p.name for p in (run.path / "c").iterdir())
    assert names == sorted(info["files"])
    # compiled again from the files as written, the C reproduces the graph (not just inside the gate)
    x = digits.split("test")[0][:100]
    scores, labels = _c_outputs(run, x, tmp_path)
    ref_scores, ref_labels = _onnx_outputs(run, x)
    tol = 1e-4 + 1e-3 * np.abs(ref_scores)
    assert np.all(np.abs(scores - ref_scores) <= tol)
    assert np.array_equal(labels, ref_labels)


def test_mlp_c_export_through_the_cli(kd_mlp_run, digits, tmp_path):
    run_dir = tmp_path / "mlp"
    shutil.copytree(kd_mlp_run.path, run_dir)
    result = CliRunner().invoke(app, ["export", str(run_dir), "--target", "c", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)[str(run_dir)]
    assert info["library"] == "kdedge (hand-written)" and info["function"] == "kdedge_mlp_predict"
    run = Run.load(run_dir)
    assert run.manifest.c_export["prefix"] == "kdedge_mlp"
    header = (run_dir / "c" / "kdedge_mlp.h").read_text()
    assert "int32_t kdedge_mlp_predict(const float *input, float *scores);" in header
    assert "kdedge_mlp_predict(input, scores)" in (run_dir / "c" / "README.md").read_text()
    _check_pair(run, digits, tmp_path)


@pytest.mark.parametrize(("family", "options", "method"), CASES)
def test_c_parity_per_family(tmp_path, digits, teacher_run, family, options, method):
    run = _student(tmp_path, digits, teacher_run, family, options, method)
    info = export_run(run.path, target="c")
    assert info["mcu"] is None
    _check_pair(Run.load(run.path), digits, tmp_path)


def test_family_without_c_path_exits_2_in_one_line(tmp_path, digits):
    run = fit_run(
        out=tmp_path / "resnet", kind="student", family="resnet", options={"depth": 8, "width": 2, "epochs": 1},
        method=make_method("hard"), dataset=digits, data_source="digits", seed=0, teacher=None,
    )  # fmt: skip
    export_run(run.path)
    result = CliRunner().invoke(app, ["export", str(run.path), "--target", "c"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "no C export for the resnet family" in lines[0] and "cnn, " in lines[0]
    assert not (run.path / "c").exists()


def test_parity_failure_writes_no_files(kd_mlp_run, tmp_path, monkeypatch):
    run_dir = tmp_path / "mlp"
    shutil.copytree(kd_mlp_run.path, run_dir)
    export_run(run_dir, target="c")
    before = (run_dir / "c" / "kdedge_mlp.c").read_text()
    student_cls = type(_load(run_dir))
    real = generators.C_GENERATORS["fp32"][student_cls]
    monkeypatch.setitem(generators.C_GENERATORS["fp32"], student_cls, _wrong_scores(real))
    with pytest.raises(ExportError, match="does not match the ONNX graph"):
        export_run(run_dir, target="c")
    assert (run_dir / "c" / "kdedge_mlp.c").read_text() == before  # the earlier, good export is untouched
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".")) == []  # no temporary left


def _load(run_dir):
    from kdedge.students import load_student

    return load_student(Run.load(run_dir))


def _wrong_scores(real):
    """A generator whose core adds 0.5 to the first score after the library's code: it compiles and is wrong."""

    def wrong(student, prefix):
        core = real(student, prefix)
        code = (
            f"{core.code}\nstatic void {prefix}_wrong_core(const float *f, float *s) {{\n"
            f"  {prefix}_core(f, s);\n  s[0] += 0.5f;\n}}\n#define {prefix}_core {prefix}_wrong_core\n"
        )
        return generators.CCore(code, core.library, core.normalize)

    return wrong


def test_bench_has_c_rows_and_c_floor(kd_mlp_run, teacher_run, tmp_path):
    import kdedge

    run_dir = tmp_path / "mlp"
    shutil.copytree(kd_mlp_run.path, run_dir)
    export_run(run_dir, target="c")
    result = kdedge.bench([run_dir, teacher_run.path], memory=False, min_runs=20, min_seconds=0.05)
    rows = {r["name"]: r for r in result.rows}
    assert {"mlp", "mlp C", "teacher", "runtime floor", "C floor"} <= set(rows)
    c_row = rows["mlp C"]
    assert c_row["accuracy"] == pytest.approx(rows["mlp"]["accuracy"])  # same labels as the graph
    assert c_row["agreement"] == pytest.approx(rows["mlp"]["agreement"])
    assert c_row["latency"]["runs"] >= 20 and c_row["latency"]["p50_us"] > 0
    assert rows["C floor"]["kind"] == "floor"
    assert [r["name"] for r in result.rows][-2:] == ["runtime floor", "C floor"]
    assert "mlp C" in str(result)  # the table renders C rows in the same columns


@pytest.mark.skipif(toolchain_missing() is not None, reason=str(toolchain_missing()))
def test_cortex_m4_sizes_and_budget(kd_mlp_run, tmp_path):
    run_dir = tmp_path / "mlp"
    shutil.copytree(kd_mlp_run.path, run_dir)
    result = CliRunner().invoke(app, ["export", str(run_dir), "--target", "mcu-cortex-m4"])
    assert result.exit_code == 0, result.output
    assert "cortex-m4: flash" in result.output
    m = Run.load(run_dir).manifest.c_export["mcu"]
    # 64 -> 64 -> 10 float32 weights alone are (64*64 + 64 + 64*10 + 10) * 4 = 19 KB of rodata
    assert m["sections_bytes"]["rodata"] >= 4 * (64 * 64 + 64 + 64 * 10 + 10)
    assert 0 < m["flash_kb"] < 256 and 0 < m["ram_kb"] < 64 and m["stack_bytes"] > 0
    assert "flash" in (run_dir / "c" / "README.md").read_text()

    tight = tmp_path / "tight.toml"
    tight.write_text('format = "c"\nmcu = "cortex-m4"\nmax_flash_kb = 4\n')
    shutil.rmtree(run_dir / "c")
    result = CliRunner().invoke(app, ["export", str(run_dir), "--target", str(tight)])
    assert result.exit_code == 2 and "does not fit target 'tight'" in result.output
    assert not (run_dir / "c").exists()


def test_bench_without_a_compiler_notes_the_missing_c_row(kd_mlp_run, tmp_path, monkeypatch):
    import kdedge

    run_dir = tmp_path / "mlp"
    shutil.copytree(kd_mlp_run.path, run_dir)
    export_run(run_dir, target="c")
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)  # a board with onnxruntime and no C compiler
    result = kdedge.bench([run_dir], data="digits", memory=False, min_runs=5, min_seconds=0.0)
    assert [r["name"] for r in result.rows] == ["mlp", "runtime floor"]
    assert any("mlp C: no row" in note for note in result.raw["notes"])


@pytest.mark.skipif(qemu_missing() is not None, reason=str(qemu_missing()))
def test_c_export_runs_on_an_emulated_cortex_m4(kd_mlp_run, tmp_path):
    from kdedge.convert.c.qemu import run_on_qemu

    run_dir = tmp_path / "mlp"
    shutil.copytree(kd_mlp_run.path, run_dir)
    export_run(run_dir, target="c")
    found = run_on_qemu(run_dir, samples=100)
    assert found["samples"] == 100 and found["label_agreement"] == 1.0


def test_c_gate_allows_float32_summing_order_in_proportion_to_the_scores():
    from kdedge.convert.c import c_tolerance
    from kdedge.students.base import Tolerance

    tol = c_tolerance(Tolerance(rtol=1e-3, atol=1e-5), np.array([[20.0, -3.0, 0.001]]))
    assert tol.atol == pytest.approx(2e-4) and tol.rtol == 1e-3 and tol.min_label_agreement == 1.0
    assert c_tolerance(Tolerance(atol=1e-3), np.array([[1.0]])).atol == 1e-3  # never tighter than the family's


def test_c_timing_stops_at_max_timed_calls_past_min_runs(kd_mlp_run, tmp_path, monkeypatch):
    run_dir = tmp_path / "mlp"
    shutil.copytree(kd_mlp_run.path, run_dir)
    export_run(run_dir, target="c")
    monkeypatch.setattr(c_harness, "MAX_TIMED", 300)
    exe = c_harness.build(run_dir / "c" / "kdedge_mlp.c", "kdedge_mlp", 64, 10, tmp_path)
    x = np.zeros((4, 64), np.float32)
    assert c_harness.time_c(exe, x, min_runs=10, min_seconds=30.0)["runs"] == 300  # not 30 s of calls
    assert c_harness.time_c(exe, x, min_runs=500, min_seconds=0.0)["runs"] == 500  # min_runs still holds


def test_host_flags_drop_march_native_where_the_compiler_refuses_it(tmp_path, monkeypatch):
    strict = tmp_path / "strict-cc"  # a compiler that knows no -march=native (as some cross or old compilers)
    strict.write_text(
        '#!/bin/sh\nfor a in "$@"; do [ "$a" = "-march=native" ] && { echo "unknown: $a" >&2; exit 1; }; done\n'
        f'exec {shutil.which("cc")} "$@"\n'
    )
    strict.chmod(0o755)
    monkeypatch.setenv("CC", str(strict))
    assert c_harness.host_flags() == c_harness.HOST_FLAGS
    assert c_harness.build_command() == "strict-cc -std=c99 -O2"
    monkeypatch.setenv("CC", shutil.which("cc"))
    assert c_harness.host_flags()[: len(c_harness.HOST_FLAGS)] == c_harness.HOST_FLAGS  # the real cc: probed anew
