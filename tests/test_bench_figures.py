"""Bench figures net of the runtime floor, medians over fresh sessions, the machine's load, and a table that fits."""

import copy
import csv
import io
import json
import statistics

import pytest
from rich.console import Console
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.measure import FLOOR_NOISE_US
from kdedge.table import COLUMNS, bench_table, key_columns

runner = CliRunner()
QUICK = ["--min-runs", "5", "--min-seconds", "0"]


def kdedge(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def bench_csv(tmp_path_factory):
    return tmp_path_factory.mktemp("bench") / "bench.csv"


@pytest.fixture(scope="module")
def measured(kd_mlp_run, teacher_run, bench_csv):
    """One bench of the KD MLP and the teacher with memory, printed as JSON on stdout (and written as CSV)."""
    r = kdedge("bench", kd_mlp_run.path, teacher_run.path, *QUICK, "--json", "--csv", bench_csv)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_csv_has_the_figures_net_of_the_floor(measured, bench_csv):
    rows = {row["name"]: row for row in csv.DictReader(bench_csv.open())}
    mlp = next(r for r in measured["rows"] if r["name"] == "mlp")
    assert float(rows["mlp"]["memory_above_floor_mb"]) == pytest.approx(mlp["memory"]["above_floor_mb"], rel=1e-4)
    assert float(rows["mlp"]["p50_above_floor_vs_teacher"]) == pytest.approx(
        mlp["vs_teacher"]["p50_above_floor"], rel=1e-4
    )
    assert rows["mlp"]["fresh_sessions"] == "5"


def test_memory_and_ratios_net_of_the_floor(measured):
    rows = {row["name"]: row for row in measured["rows"]}
    floor, teacher, mlp = rows["runtime floor"], rows["teacher"], rows["mlp"]
    floor_mb = floor["memory"]["model_mb"]
    for row in (teacher, mlp):
        assert row["memory"]["above_floor_mb"] == pytest.approx(max(row["memory"]["model_mb"] - floor_mb, 0))
        assert row["floor_p50_us"] == floor["latency"]["p50_us"]
    above = mlp["latency"]["p50_us"] - floor["latency"]["p50_us"]
    expected = max(above, FLOOR_NOISE_US) / (teacher["latency"]["p50_us"] - floor["latency"]["p50_us"])
    assert mlp["vs_teacher"]["p50_above_floor"] == pytest.approx(expected)
    assert mlp["vs_teacher"]["p50_at_floor"] == (above < FLOOR_NOISE_US)
    assert mlp["vs_teacher"]["p50"] == pytest.approx(mlp["latency"]["p50_us"] / teacher["latency"]["p50_us"])
    assert teacher["vs_teacher"]["p50_above_floor"] == pytest.approx(1.0)
    assert "vs_teacher" not in floor  # an Identity graph has no ratio to a teacher


def test_first_run_and_init_are_medians_of_fresh_sessions(measured):
    for row in measured["rows"]:
        lat = row["latency"]
        assert lat["fresh_sessions"] == 5 == len(lat["first_run_us_samples"]) == len(lat["session_init_ms_samples"])
        assert lat["first_run_us"] == pytest.approx(statistics.median(lat["first_run_us_samples"]), rel=1e-3)
        assert lat["session_init_ms"] == pytest.approx(statistics.median(lat["session_init_ms_samples"]), rel=1e-3)


def test_load_and_cpus_recorded(measured):
    load = measured["load"]
    assert load["cpu_count"] >= 1 and 1 <= load["usable_cpus"] <= load["cpu_count"]
    assert load["loadavg_1m_before"] >= 0 and load["loadavg_1m_after"] >= 0
    assert load["busy"] == (max(load["loadavg_1m_before"], load["loadavg_1m_after"]) > load["cpu_count"])


def _render(result, columns=None) -> str:
    text = io.StringIO()
    bench_table(result, Console(width=100, file=text), columns=columns)
    return text.getvalue()


def test_busy_machine_warns_in_one_line(measured):
    busy = copy.deepcopy(measured)
    busy["load"].update(busy=True, loadavg_1m_before=9.0, loadavg_1m_after=7.5)
    warnings = [line for line in _render(busy).splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "load average 9.0 on" in warnings[0]
    idle = copy.deepcopy(measured)
    idle["load"]["busy"] = False
    assert "warning:" not in _render(idle)


def test_default_table_fits_100_columns(kd_mlp_run, teacher_run, tmp_path):
    out = tmp_path / "bench.json"
    r = kdedge("bench", kd_mlp_run.path, teacher_run.path, *QUICK, "--no-memory", "--out", out)
    assert r.exit_code == 0, r.output
    assert max(map(len, r.stdout.splitlines())) <= 100, r.stdout
    assert ">floor" in r.stdout and "first µs" not in r.stdout  # key columns only
    assert json.loads(out.read_text())["rows"][0]["name"] == "mlp"  # --out writes the JSON, the table still shows
    result = json.loads(out.read_text())
    # a row of another kind (e.g. compiled C) with the same fields, and a long name, still fits
    extra = copy.deepcopy(result["rows"][0])
    extra.update(name="mlp (C, emlearn, -O2) on this host", kind="c", family="mlp", precision="int8-dynamic")
    result["rows"].insert(1, extra)
    assert max(map(len, _render(result).splitlines())) <= 100


def test_columns_all_and_a_list(kd_mlp_run, teacher_run):
    r = kdedge("bench", kd_mlp_run.path, teacher_run.path, *QUICK, "--no-memory", "--columns", "all")
    assert r.exit_code == 0, r.output
    for column in COLUMNS.values():
        assert column.header.split("\n")[0] in r.stdout
    r = kdedge("bench", kd_mlp_run.path, *QUICK, "--no-memory", "--columns", "p90,first")
    assert r.exit_code == 0, r.output
    header = next(line for line in r.stdout.splitlines() if "p90 µs" in line)
    assert "first µs" in header and "model" in header and "acc %" not in header
    r = kdedge("bench", kd_mlp_run.path, *QUICK, "--columns", "p50,speed")
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "'speed'" in r.output and "p50_xT" in r.output


def test_report_uses_the_same_key_columns(measured, tmp_path):
    (tmp_path / "bench.json").write_text(json.dumps(measured))
    out = tmp_path / "report.html"
    r = kdedge("report", tmp_path, "--out", out)
    assert r.exit_code == 0, r.output
    html = out.read_text()
    for name in key_columns():
        assert COLUMNS[name].header.split("\n")[0] in html
    assert "mem MB<br>&gt;floor" in html and "first µs" not in html


def test_a_bare_model_is_benched_on_the_data_it_records(kd_mlp_run, tmp_path):
    """`bench --model` without --data reads the export's kdedge.data_source (digits here) and its split seed."""
    out = tmp_path / "bench.json"
    r = kdedge("bench", "--model", kd_mlp_run.onnx_path, *QUICK, "--no-memory", "--out", out)
    assert r.exit_code == 0, r.output
    result = json.loads(out.read_text())
    assert result["data"]["name"] == "digits" and result["notes"] == []  # same data and split: no warning
    assert result["rows"][0]["accuracy"] == pytest.approx(kd_mlp_run.metrics["test_accuracy"])


def test_a_record_keeps_at_most_ten_thousand_raw_times_but_percentiles_use_all():
    import numpy as np

    from kdedge.measure.timing import RAW_KEPT, summarize

    times_ns = np.arange(1, 50_001) * 1000  # 1..50,000 µs
    figures = summarize(5000, 10, times_ns)
    assert figures["runs"] == 50_000 and len(figures["raw_us"]) == RAW_KEPT == 10_000
    assert figures["raw_us"][0] == 1.0 and figures["raw_us"][-1] == 50_000.0  # evenly spaced, ends included
    assert figures["p50_us"] == pytest.approx(25_000.5) and figures["min_us"] == 1.0
    assert summarize(0, 0, [3000, 1000])["raw_us"] == [3.0, 1.0]  # fewer: every one, in order
