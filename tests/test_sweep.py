"""Sweeps: a grid over recipe keys in parallel local processes, resuming, and the same jobs on a Dask cluster."""

import csv
import json

import pytest
from tiny_recipe import TINY
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.errors import RunError
from kdedge.recipes import load_recipe
from kdedge.recipes.address import parse_set
from kdedge.sweep import plan_sweep, run_sweep

runner = CliRunner()


def tiny_quick():
    return load_recipe("quick", [parse_set(s) for s in TINY])


def test_local_sweep_in_parallel_then_resume(tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", "quick", "--out", out, "--jobs", 2, "--grid", "seed=0,1"]
    for s in TINY:
        args += ["--set", s]
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    combos = sorted(p.name for p in out.iterdir() if (p / "done.json").is_file())
    assert combos == ["seed-0", "seed-1"]
    teachers = sorted(p.name for p in (out / "teachers").iterdir())  # one teacher per seed, named by what it is
    assert len(teachers) == 2 and [t.rsplit("-", 1)[0] for t in teachers] == ["digits-cnn-seed0", "digits-cnn-seed1"]
    recipe = json.loads((out / "seed-1" / "recipe.json").read_text())
    assert ["seed", 1] in recipe["overrides"] and recipe["teacher_run"].startswith(str(out / "teachers"))

    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["model"] for r in rows] == ["teacher", "mlp-kd", "mlp-hard"]
    assert all(r["n"] == "2" and r["accuracy_std"] != "" for r in rows)  # mean ± std over the two seeds
    md = (out / "results.md").read_text()
    assert md.startswith("| model | n | acc % | agree % | p50 µs | size KB |") and " ± " in md
    assert "mean ± sample std over seed" in md and md in r.stdout
    assert all(str(out / name) in r.stderr for name in ("results.csv", "results.md", "results.json"))

    # interrupted: one combination lost its marker; a rerun redoes only that one
    (out / "seed-0" / "done.json").unlink()
    untouched = (out / "seed-1" / "done.json").stat().st_mtime_ns
    plan = plan_sweep(tiny_quick(), [("seed", [0, 1])], out)
    lines = []
    summary = run_sweep(plan, jobs=1, log=lines.append)
    assert (summary["skipped"], summary["ran"], summary["failed"]) == (1, 1, [])
    assert "0 to train" in lines[0]  # the shared teachers were reused
    assert (out / "seed-0" / "done.json").is_file()
    assert (out / "seed-1" / "done.json").stat().st_mtime_ns == untouched

    # another grid in the same folder is refused rather than mixed in
    other = plan_sweep(tiny_quick(), [("seed", [5])], out)
    with pytest.raises(RunError, match="another recipe or grid"):
        run_sweep(other, log=lambda line: None)


def test_grid_errors_name_the_key(tmp_path):
    r = runner.invoke(app, ["sweep", "quick", "--out", str(tmp_path / "s"), "--grid", "student.colour=1,2"])
    assert r.exit_code == 2
    assert "(--grid): student.colour: no student in the recipe takes 'colour'" in r.stderr
    r = runner.invoke(app, ["sweep", "quick", "--out", str(tmp_path / "s"), "--grid", "student.temperature=1,-4"])
    assert r.exit_code == 2 and "students[0].temperature" in r.stderr  # every combination validated up front
    r = runner.invoke(app, ["sweep", "quick", "--out", str(tmp_path / "s")])
    assert r.exit_code == 2 and "nothing to sweep" in r.stderr
    assert not (tmp_path / "s").exists()


def test_sweep_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        plan = plan_sweep(tiny_quick(), [("students.mlp-kd.temperature", [2, 8])], tmp_path / "sweep")
        lines = []
        summary = run_sweep(plan, backend="dask", scheduler=cluster.scheduler_address, log=lines.append)
    assert summary["failed"] == [] and summary["ran"] == 2
    assert all((tmp_path / "sweep" / c.name / "done.json").is_file() for c in plan.combos)
    assert "dask" in lines[0]
    rows = summary["rows"]  # grouped by the swept key: one row per (temperature, model), one run each
    assert [(r["students.mlp-kd.temperature"], r["model"]) for r in rows] == [
        (t, m) for t in (2, 8) for m in ("teacher", "mlp-kd", "mlp-hard")
    ]
    assert all(r["n"] == 1 and r["accuracy_std"] is None for r in rows)


def test_dask_backend_needs_a_scheduler(tmp_path):
    from kdedge.errors import OptionError

    plan = plan_sweep(tiny_quick(), [("seed", [0])], tmp_path / "sweep")
    with pytest.raises(OptionError, match="--scheduler"):
        run_sweep(plan, backend="dask", log=lambda line: None)


def test_a_failing_combination_does_not_stop_the_others(tmp_path, digits):
    import numpy as np

    np.savez(tmp_path / "good.npz", x=digits.x[:40])
    np.savez(tmp_path / "bad.npz", x=np.zeros((40, 3), np.float32))  # not shaped like the data: fails at fit time
    out = tmp_path / "sweep"
    args = ["sweep", "quick", "--out", out, "--set", "students.mlp-kd.transfer=pool"]
    args += ["--set", f"students.mlp-kd.pool={tmp_path / 'good.npz'}"]  # the recipe itself must be valid
    args += ["--grid", f"students.mlp-kd.pool={tmp_path / 'good.npz'},{tmp_path / 'bad.npz'}"]
    for s in TINY:
        args += ["--set", s]
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 2
    assert "1 of 2 combinations failed" in r.stderr and "bad.npz" in r.stderr and "rerun the same command" in r.stderr
    done = [p.name for p in out.iterdir() if (p / "done.json").is_file()]
    assert len(done) == 1 and "good" in done[0]
    assert "| mlp-kd | 1 |" in r.stdout  # the table holds what finished
