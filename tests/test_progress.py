"""Progress on stderr for long work (bench models, sweep jobs, search trials); silent with --quiet or off a terminal."""

import pytest
from typer.testing import CliRunner

from kdedge import progress
from kdedge.cli import app
from kdedge.sweep import _Tally

runner = CliRunner()
QUICK = ["--min-runs", "3", "--min-seconds", "0", "--no-memory"]


@pytest.fixture
def terminal(monkeypatch):
    """stderr treated as a terminal, and no KDEDGE_QUIET (conftest sets it for the whole session)."""
    monkeypatch.delenv("KDEDGE_QUIET", raising=False)
    monkeypatch.delenv("KDEDGE_NO_BARS", raising=False)
    monkeypatch.setattr(progress, "_stderr_is_terminal", lambda: True)


def test_bench_counts_models_on_stderr(terminal, kd_mlp_run, teacher_run):
    r = runner.invoke(app, ["bench", str(kd_mlp_run.path), str(teacher_run.path), *QUICK])
    assert r.exit_code == 0, r.output
    assert "bench: model" in r.stderr and "3/3" in r.stderr  # two runs and the floor
    assert "bench: model" not in r.stdout
    for args in (["bench", "--quiet"], ["--quiet", "bench"], ["-q", "bench"]):
        command = [*args, str(kd_mlp_run.path), *QUICK]
        r = runner.invoke(app, command)
        assert r.exit_code == 0 and "bench: model" not in r.stderr, command


def test_silent_off_a_terminal(monkeypatch):
    monkeypatch.delenv("KDEDGE_QUIET", raising=False)
    monkeypatch.setattr(progress, "_stderr_is_terminal", lambda: False)
    assert progress.silent()
    with progress.progress_bar("x", 2) as advance:
        advance("one")  # a no-op, not an error
    monkeypatch.setattr(progress, "_stderr_is_terminal", lambda: True)
    assert not progress.silent()
    with progress.quiet():
        assert progress.silent()
    assert not progress.silent()  # restored


def test_inner_bars_share_the_display_and_go(terminal):
    with progress.progress_bar("outer", 2, transient=False) as outer:
        display = progress._active
        with progress.progress_bar("inner", 5) as inner:
            assert progress._active is display and len(display.tasks) == 2
            inner("epoch 1")
        assert len(display.tasks) == 1  # the inner bar is gone
        outer("first")
    assert progress._active is None


def test_sweep_lines_count_jobs_with_an_eta():
    lines, steps = [], []
    tally = _Tally(3, lines.append, steps.append)
    tally({"name": "teacher abc", "ok": True})
    tally({"name": "seed-0", "ok": False, "error": "boom"})
    tally({"name": "seed-1", "ok": True})
    assert lines[0].startswith("  [1/3] teacher abc: done (ETA ")
    assert lines[1].startswith("  [2/3] seed-0: FAILED: boom (ETA ")
    assert lines[2] == "  [3/3] seed-1: done" and len(steps) == 3


def test_eta_text():
    assert progress.eta_text(0, 4, 10.0) == ""
    assert progress.eta_text(1, 4, 10.0) == "ETA 30s"
    assert progress.eta_text(2, 10, 30.0) == "ETA 2m00s"
    assert progress.eta_text(4, 4, 10.0) == ""


def test_search_best_so_far():
    optuna = pytest.importorskip("optuna")
    from kdedge.budget_search.study import best_so_far

    study = optuna.create_study(directions=["maximize", "minimize", "minimize"])
    assert best_so_far(study) == "none inside the budget yet"
    for values, broken in (([0.9, 10, 5], []), ([0.95, 50, 500], ["max_size_kb"]), ([0.92, 20, 8], [])):
        study.add_trial(optuna.trial.create_trial(values=values, user_attrs={"broken": broken}))
    assert best_so_far(study) == "best val acc 0.9200 (trial 2)"
    assert best_so_far(study, "agreement") == "best val agreement 0.9200 (trial 2)"


def test_parallel_search_counts_the_workers_trials(terminal, tmp_path, capsys):
    """The parent of a parallel search shows trial i/N from the shared study while its workers run."""
    optuna = pytest.importorskip("optuna")
    from dataclasses import asdict

    from kdedge._io import write_json
    from kdedge.budget_search import study as search_study

    config = search_study.SearchConfig(teacher="unused")
    write_json(tmp_path / search_study.CONFIG, asdict(config))
    study = search_study._study(tmp_path, config)

    class Worker:  # finishes one trial per wait, then exits
        def __init__(self):
            self.left = 1

        def is_alive(self):
            return self.left > 0

        def join(self, timeout=None):
            if self.left:
                study.add_trial(optuna.trial.create_trial(values=[0.9, 10, 5], user_attrs={"broken": []}))
                self.left -= 1

    search_study._wait_showing_trials(tmp_path, 2, *search_study._joining([Worker(), Worker()]), every_seconds=0)
    err = capsys.readouterr().err
    assert "search: trial" in err and "2/2" in err and "best val acc 0.9000" in err


def test_a_log_gets_plain_lines_per_slow_step_and_the_last_state(monkeypatch, capsys):
    """Off a terminal a long job still speaks: timestamped lines, throttled to KDEDGE_LOG_EVERY seconds."""
    monkeypatch.delenv("KDEDGE_QUIET", raising=False)
    monkeypatch.setattr(progress, "_stderr_is_terminal", lambda: False)
    monkeypatch.setenv("KDEDGE_LOG_EVERY", "0")
    with progress.progress_bar("teacher · hard", 3) as advance:
        advance("val accuracy 0.5")
        advance("val accuracy 0.7")
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" ", 1)[1].split(" · ")[:2] for line in lines] == [
        ["teacher", "hard 1/3 val accuracy 0.5"],
        ["teacher", "hard 2/3 val accuracy 0.7"],
    ]
    assert all(line.endswith(" · 0s elapsed, ETA 0s") for line in lines)  # fast steps: nothing left to wait for

    monkeypatch.setenv("KDEDGE_LOG_EVERY", "3600")  # fast steps: the first line, then only the last state
    with progress.progress_bar("x", 5) as advance:
        for i in range(4):
            advance(f"step {i}")
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" ", 1)[1].split(" · ")[0] for line in lines] == ["x 1/5 step 0", "x 4/5 step 3"]
    monkeypatch.setenv("KDEDGE_QUIET", "1")
    with progress.progress_bar("x", 2) as advance:
        advance("one")
    assert capsys.readouterr().err == ""


def test_a_booster_speaks_per_round_through_a_pipe(tmp_path):
    """A LightGBM fit (tens of minutes on a 5x transfer set) prints its rounds when stderr is a pipe."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "KDEDGE_QUIET": "", "KDEDGE_LOG_EVERY": "0", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "kdedge.cli", "distill", "--data", "digits", "--student", "gbdt", "--method",
               "hard", "--n-estimators", "4", "--out", str(tmp_path / "g")]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rounds = [line.split(" ", 1)[1].rsplit(" · ", 1)[0] for line in result.stderr.splitlines() if "hard round" in line]
    assert rounds == [f"gbdt · hard round {i}/4" for i in range(1, 5)], result.stderr
