"""Reports: one self-contained HTML page with every run, the bench tables, both scatter plots with the Pareto front,
the sweep table, recipes and versions; and it renders in a headless browser."""

import base64
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from tiny_recipe import TINY
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.report import pareto_front
from kdedge.report.plots import Point

runner = CliRunner()


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory):
    """A folder as users have it: one recipe run and a two-seed sweep (run in this process, one job)."""
    from kdedge.recipes import load_recipe, run_recipe
    from kdedge.recipes.address import parse_set
    from kdedge.sweep import plan_sweep, run_sweep

    root = tmp_path_factory.mktemp("runs")
    recipe = load_recipe("quick", [parse_set(s) for s in TINY])
    run_recipe(recipe, root / "quick", log=lambda line: None)
    run_sweep(plan_sweep(recipe, [("seed", [0, 1])], root / "sweep"), log=lambda line: None)
    return root


def test_pareto_front_keeps_points_nothing_beats():
    pts = [Point("a", "student", 90, 5), Point("b", "student", 95, 10), Point("c", "student", 93, 12)]
    pts += [Point("d", "teacher", 99, 30), Point("e", "student", 89, 6), Point("f", "student", 90, 5)]
    assert [p.label for p in pareto_front(pts)] == ["a", "b", "d"]


def test_report_holds_every_run_and_its_figures(runs_root, tmp_path):
    out = tmp_path / "report.html"
    r = runner.invoke(app, ["report", str(runs_root), "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    manifests = sorted(p.parent for p in runs_root.rglob("kdedge.json"))
    assert len(manifests) == 3 + 2 * 2 + 2  # quick (teacher + 2), 2 sweep combinations x 2, 2 shared teachers
    assert sorted(summary["runs"]) == sorted(str(p) for p in manifests)
    assert len(summary["bench_results"]) == 3 and len(summary["sweeps"]) == 1

    html = out.read_text()
    for run in manifests:
        assert f"<td class=l>{run.relative_to(runs_root)}</td>" in html  # every run has its row
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 2 and all(base64.b64decode(i).startswith(b"\x89PNG\r\n\x1a\n") for i in images)
    assert "accuracy vs p50 latency" in html and "Models in the figures" in html
    assert any(name.startswith("size") for name in summary["fronts"]) and "<td>★ " in html
    # every run is in the figures, or named as not there with the reason
    labels = {str(p.relative_to(runs_root)) for p in manifests}
    assert {m["run"] for m in summary["models"]} | set(summary["not_in_figures"]) == labels
    assert "mean ± sample std over seed" in html and " ± " in html  # the sweep table
    assert "description = &quot;Under a minute" in html and "teacher.epochs=2" in html  # the recipe and overrides
    assert "torch 2." in html and "onnxruntime 1." in html  # versions
    assert "http://" not in html and "https://" not in html  # self-contained: nothing to fetch


def test_report_filters_folders_and_keeps_the_latest_runs(runs_root, tmp_path):
    def report(*args):
        r = runner.invoke(
            app, ["report", str(runs_root), "--out", str(tmp_path / "r.html"), "--overwrite", "--json", *args]
        )
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    only_sweep = report("--include", "sweep*")
    assert only_sweep["runs"] and all("/sweep/" in run for run in only_sweep["runs"])
    assert len(only_sweep["sweeps"]) == 1
    no_sweep = report("--exclude", "sweep*")
    assert no_sweep["runs"] and not any("/sweep/" in run for run in no_sweep["runs"]) and not no_sweep["sweeps"]
    newest = report("--latest", "2")
    created = sorted((json.loads((p).read_text())["created"], str(p.parent)) for p in runs_root.rglob("kdedge.json"))
    assert sorted(newest["runs"]) == sorted(path for _, path in created[-2:])
    r = runner.invoke(app, ["report", str(runs_root), "--out", str(tmp_path / "x.html"), "--include", "nothing*"])
    assert r.exit_code == 2 and "match --include/--exclude" in r.stderr


def test_report_of_an_empty_folder_says_what_to_do(tmp_path):
    r = runner.invoke(app, ["report", str(tmp_path), "--out", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and "no runs, bench results or sweeps found" in r.stderr


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_report_renders_in_headless_chromium(runs_root, tmp_path):
    out, shot = tmp_path / "report.html", tmp_path / "shot.png"
    assert runner.invoke(app, ["report", str(runs_root), "--out", str(out)]).exit_code == 0
    subprocess.run(
        [
            shutil.which("chromium"),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,1600",
            f"--screenshot={shot}",
            out.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000  # a blank page compresses to a few KB


@pytest.fixture()
def copied_runs(tmp_path, teacher_run, kd_mlp_run):
    """Two exported runs under one folder, as `kdedge bench RUN` (no --out) leaves them: no bench file."""
    root = tmp_path / "runs"
    shutil.copytree(teacher_run.path, root / "teacher", ignore=shutil.ignore_patterns("targets"))
    shutil.copytree(kd_mlp_run.path, root / "mlp", ignore=shutil.ignore_patterns("targets"))
    return root


def test_runs_no_bench_file_covers_are_benched_by_the_report(copied_runs, tmp_path):
    def report(*args):
        r = runner.invoke(
            app, ["report", str(copied_runs), "--out", str(tmp_path / "r.html"), "--overwrite", "--json", *args]
        )
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    summary = report("--bench-seconds", "0")
    assert sorted(summary["benched_by_report"]) == ["mlp", "teacher"] and not summary["not_in_figures"]
    assert sorted(m["run"] for m in summary["models"]) == ["mlp", "teacher"]
    html = (tmp_path / "r.html").read_text()
    assert "measured by this report" in html and "the report&#x27;s own bench" in html

    # a bench file covering one run (its paths relative to where bench ran): only the other is benched here
    r = runner.invoke(
        app, ["bench", str(copied_runs / "mlp"), "--min-runs", "5", "--min-seconds", "0", "--no-memory",
              "--out", str(copied_runs / "bench.json")],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    summary = report("--bench-seconds", "0")
    assert summary["benched_by_report"] == ["teacher"] and len(summary["models"]) == 2  # mlp once, not twice

    summary = report("--no-bench-missing")
    assert summary["not_in_figures"] == ["teacher"] and [m["run"] for m in summary["models"]] == ["mlp"]
    assert any("--no-bench-missing" in note and "teacher" in note for note in summary["notes"])


def _bench_file(path, platform, busy, names, accuracy=0.9):
    rows = [
        {"name": n, "kind": "student", "family": "mlp", "path": f"/elsewhere/{n}.onnx", "accuracy": accuracy + i / 100,
         "size_kb": 10.0 + i, "latency": {"p50_us": 5.0 + i}}
        for i, n in enumerate(names)
    ]  # fmt: skip
    load = {"busy": busy, "cpu_count": 2, "loadavg_1m_before": 3.5 if busy else 0.2, "loadavg_1m_after": 0.5}
    result = {"machine": {"platform": platform, "cpu_count": 2}, "threads": 1, "batch": 1, "load": load, "rows": rows}
    result["data"] = {"name": "digits"}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))


def test_latencies_of_other_machines_and_loads_are_never_on_one_plot(tmp_path):
    root = tmp_path / "benches"
    _bench_file(root / "laptop" / "bench.json", "Linux-laptop", False, ["a", "b"])
    _bench_file(root / "board" / "bench.json", "Linux-board", False, ["c"])
    _bench_file(root / "laptop-busy" / "bench.json", "Linux-laptop", True, ["d"])
    r = runner.invoke(app, ["report", str(root), "--out", str(tmp_path / "r.html"), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    groups = summary["groups"]
    assert len(groups) == 3 and sum("busy" in text for text in groups.values()) == 1
    latency_figures = [f for f in summary["figures"] if "latency" in f]
    assert len(latency_figures) == 3 and all(text in " ".join(latency_figures) for text in groups.values())
    # each group's front holds only its own models
    fronts = {name: set(labels) for name, labels in summary["fronts"].items() if name.startswith("latency")}
    assert sorted(map(sorted, fronts.values())) == [["board/c"], ["laptop-busy/d"], ["laptop/a", "laptop/b"]]
    html = (tmp_path / "r.html").read_text()
    assert "never mixed in one plot" in html


def test_many_points_get_numbers_that_overlap_nothing():
    from kdedge.report.plots import scatter_figure

    rng = np.random.default_rng(0)
    points = [
        Point(f"some/long/run/name-{i}", "student", float(rng.uniform(90, 99)), float(rng.uniform(3, 300)), i + 1)
        for i in range(69)
    ]
    fig, skipped = scatter_figure(points, "p50 latency (µs)", "accuracy vs latency")
    ax = fig.axes[0]
    labels = [t for t in ax.texts]
    assert len(labels) + skipped == 69 and len(labels) > 20
    assert all(t.get_text().isdigit() for t in labels)  # numbers, never names piled on each other
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    # front points are numbered first, so they are never the ones left off
    front = {str(p.number) for p in pareto_front(points)}
    assert front <= {t.get_text() for t in labels}


@pytest.mark.parametrize("span", [(3.0, 9.0), (3.0, 90.0), (2.0, 5000.0)])
def test_log_axes_read_as_plain_numbers(span):
    from kdedge.report.plots import scatter_figure

    costs = np.geomspace(*span, 8)
    points = [Point(str(i), "student", 90 + i, float(c), i + 1) for i, c in enumerate(costs)]
    fig, _ = scatter_figure(points, "size (KB)", "t")
    ax = fig.axes[0]
    ax.set_xscale("log") if ax.get_xscale() != "log" else None
    from kdedge.report.plots import plain_log_axis

    plain_log_axis(ax.xaxis)
    fig.canvas.draw()
    shown = [t.get_text() for t in ax.get_xticklabels(minor=False) + ax.get_xticklabels(minor=True) if t.get_text()]
    assert shown and all(re.fullmatch(r"[0-9.]+", text) for text in shown), shown
