"""int8 is kept only when it pays: within the accuracy budget and faster than fp32 at batch 1 on this machine."""

import shutil

import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.convert import INT8_FILE, export_run
from kdedge.convert import quantize as q
from kdedge.runs import Run

runner = CliRunner()


@pytest.fixture
def mlp_copy(tmp_path, kd_mlp_run):
    run_dir = tmp_path / "mlp"
    shutil.copytree(kd_mlp_run.path, run_dir)
    return run_dir


def _timed_as(monkeypatch, fp32_us: float, int8_us: float):
    """The speed measurement replaced by fixed figures: which graph is faster decides, not this machine's load."""

    def fixed(fp32_path, int8_bytes, x, threads=1, optimization="all", rounds=3):
        return {"batch": 1, "threads": threads, "rounds": rounds, "fp32_p50_us": fp32_us, "int8_p50_us": int8_us,
                "faster": int8_us < fp32_us}  # fmt: skip

    monkeypatch.setattr(q, "compare_speed", fixed)


def test_slower_int8_is_not_written_and_the_line_says_why(monkeypatch, mlp_copy):
    (mlp_copy / INT8_FILE).write_bytes(b"an older int8 graph")  # would be mistaken for this export's
    _timed_as(monkeypatch, fp32_us=22.0, int8_us=45.0)
    r = runner.invoke(app, ["export", str(mlp_copy), "--target", "cpu-int8-dynamic"])
    assert r.exit_code == 0, r.output
    [line] = [line for line in r.stdout.splitlines() if line.startswith("kept fp32 only")]
    assert "45.0 µs against 22.0 µs for fp32" in line and "--keep-slower-int8" in line
    assert (mlp_copy / "model.onnx").is_file() and not (mlp_copy / INT8_FILE).exists()
    export = Run.load(mlp_copy).manifest.export
    assert export["int8"] is None and export["int8_slower"]["speed"]["int8_p50_us"] == 45.0
    assert export["int8_slower"]["within_budget"]  # accurate enough; only slower


def test_faster_int8_is_written_with_its_speed(monkeypatch, mlp_copy):
    _timed_as(monkeypatch, fp32_us=40.0, int8_us=20.0)
    info = export_run(mlp_copy, target="cpu-int8-dynamic")
    assert (mlp_copy / INT8_FILE).is_file() and info["int8"]["speed"]["faster"]
    assert "int8_skipped" not in info


def test_keep_slower_int8_on_request(monkeypatch, mlp_copy):
    _timed_as(monkeypatch, fp32_us=22.0, int8_us=45.0)
    r = runner.invoke(app, ["export", str(mlp_copy), "--target", "cpu-int8-dynamic", "--keep-slower-int8"])
    assert r.exit_code == 0, r.output
    assert (mlp_copy / INT8_FILE).is_file() and "p50 45.0 µs int8 vs 22.0 µs fp32" in r.stdout
    assert "kept int8 as asked, though slower here" in r.stdout


def test_real_measurement_agrees_with_what_was_kept(mlp_copy):
    """Unpatched: whichever way this machine decides, the file, the record and the figures say the same."""
    info = export_run(mlp_copy, target="cpu-int8-dynamic")
    record = info["int8"] or info["int8_slower"]
    speed = record["speed"]
    assert speed["fp32_p50_us"] > 0 and speed["int8_p50_us"] > 0 and speed["rounds"] == 3
    assert speed["faster"] == (speed["int8_p50_us"] < speed["fp32_p50_us"])
    assert (mlp_copy / INT8_FILE).is_file() == speed["faster"] == (info["int8"] is not None)
