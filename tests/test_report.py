"""Reports: one self-contained HTML page with every run, the bench tables, both scatter plots with the Pareto front,
the sweep table, recipes and versions; and it renders in a headless browser."""

import base64
import json
import re
import shutil
import subprocess

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
    assert "accuracy vs p50 latency" in html and "Pareto front: accuracy vs size" in html
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
