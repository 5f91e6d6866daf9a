"""kill -9 at work, and two writers at once (issue #13): real `kdedge` processes, killed once they show progress (a
`.partial` folder, a lock, a running trial, worker processes), then the next command on the same folder must succeed
and leave nothing of the killed one behind. Slow (each test trains or searches): `make test-slow`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.outputs import writing

from .kit import REPO
from .kit import one_line as _one_line

pytestmark = pytest.mark.slow
runner = CliRunner()
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "KDEDGE_QUIET": "1"}
FOREVER = ("--epochs", "100000", "--patience", "100000")  # trains until killed
TINY = ("--set", "teacher.epochs=2", "--set", "teacher.channels=[4, 8, 8]", "--set", "student.epochs=2")
TINY += ("--set", "student.hidden=[8]", "--set", "bench.min_runs=5", "--set", "bench.min_seconds=0")


def kdedge(*args) -> subprocess.Popen:
    command = [sys.executable, "-m", "kdedge.cli", *map(str, args)]
    return subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_when(process: subprocess.Popen, ready, what: str, timeout: float = 180) -> None:
    """kill -9 `process` as soon as `ready()` holds (polled); fail if it ends or never gets there."""
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert process.poll() is None, f"the command ended (exit {process.returncode}) before {what}"
            assert time.monotonic() < deadline, f"no sign of {what} after {timeout} s"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


def leftovers(folder: Path) -> list[str]:
    """What a writer of `folder` leaves beside it and in it: temporary folders and files, locks."""
    name = folder.name
    beside = [p.name for p in folder.parent.iterdir() if p.name.startswith(f".{name}.")]
    inside = [p.name for p in folder.glob(".*.partial")] if folder.is_dir() else []
    return sorted(beside + inside)


def hidden_under(folder: Path) -> list[str]:
    """Temporary folders, files and locks anywhere inside `folder` (its job or trial runs included)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*"))


def ok(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_teacher_train_killed_then_trained_again(tmp_path):
    out = tmp_path / "teacher"
    first = kdedge("teacher", "train", "--channels", "4,8,8", *FOREVER, "--out", out)
    kill_when(first, lambda: any(p.suffix == ".partial" for p in tmp_path.iterdir()), "a .partial folder")
    assert leftovers(out), "kill -9 leaves the half-built folder"
    ok("teacher", "train", "--channels", "4,8,8", "--epochs", 1, "--out", out)
    assert (out / "kdedge.json").is_file() and leftovers(out) == []


def test_teacher_killed_mid_epoch_resumes_to_an_uninterrupted_runs_bytes(tmp_path):
    """kill -9 mid-epoch after checkpoints were saved: the same command resumes (and says so), and its weights are
    byte for byte those of a run that was never killed."""
    args = ("teacher", "train", "--channels", "4,8,8", "--epochs", 40, "--patience", 40, "--seed", 3)
    every_epoch = {**ENV, "KDEDGE_CHECKPOINT_EVERY": "0"}
    whole = subprocess.run(
        [sys.executable, "-m", "kdedge.cli", *map(str, args), "--out", tmp_path / "whole"],
        env=every_epoch,
        capture_output=True,
        text=True,
    )
    assert whole.returncode == 0, whole.stderr

    out = tmp_path / "teacher"
    saved = tmp_path / ".teacher.resume" / "stage1.pt"
    command = [sys.executable, "-m", "kdedge.cli", *map(str, args), "--out", str(out)]
    first = subprocess.Popen(command, env=every_epoch, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kill_when(first, lambda: saved.is_file() and time.sleep(0.3) is None, "a checkpoint")
    assert not out.exists() and saved.is_file()

    again = subprocess.run(command, env={**every_epoch, "KDEDGE_QUIET": ""}, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "resuming from epoch" in again.stderr
    assert (out / "weights.safetensors").read_bytes() == (tmp_path / "whole" / "weights.safetensors").read_bytes()
    assert leftovers(out) == []


def test_recipe_run_killed_then_run_again(tmp_path):
    out = tmp_path / "r"
    first = kdedge("run", "quick", *TINY, "--out", out)
    kill_when(first, lambda: (out / "recipe.json").exists(), "the recipe's record")
    ok("run", "quick", *TINY, "--out", out)  # no --overwrite: a killed run's folder is not the user's
    assert (out / "done.json").is_file() and leftovers(out) == [] and hidden_under(out) == []


def test_second_distill_fails_while_the_first_runs_then_one_succeeds_after_its_kill(tmp_path, made):
    """Two real processes: the second names the folder and the first one's pid, exits 2, and the first's output
    is not touched; after the first is killed (-9), the next distill into the folder succeeds and clears it."""
    out = tmp_path / "s"
    args = ["distill", "--teacher", made["teacher"], "--hidden", 8]
    first = kdedge(*args, *FOREVER, "--out", out)

    def second_refused() -> bool:
        if not list(tmp_path.glob(".s.*.partial")):  # training has begun, inside the lock
            return False
        line = _one_line(runner.invoke(app, [*map(str, args), "--epochs", "1", "--out", str(out)]))
        assert f"{out} is being written by another kdedge command (pid {first.pid})" in line
        return True

    kill_when(first, second_refused, "training")
    assert leftovers(out), "kill -9 leaves the half-built folder"
    ok(*args, "--epochs", 1, "--out", out)
    assert (out / "kdedge.json").is_file() and leftovers(out) == []


def test_export_killed_then_exported_again(tmp_path, made):
    import shutil

    run = Path(shutil.copytree(made["teacher"], tmp_path / "teacher"))
    (run / "model.onnx").unlink()
    first = kdedge("export", run)
    kill_when(first, lambda: (tmp_path / ".teacher.lock").exists(), "the export's lock")
    ok("export", run)
    assert (run / "model.onnx").is_file() and leftovers(run) == []
    assert json.loads((run / "kdedge.json").read_text())["export"]["opset"]


def test_sweep_killed_its_workers_die_and_the_sweep_resumes(tmp_path):
    psutil = pytest.importorskip("psutil")
    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    out = tmp_path / "sw"
    args = ["sweep", "quick", *TINY, "--grid", "seed=0,1", "--out", out]
    sweep = kdedge(*args, "--jobs", 2)
    workers = []

    def two_workers() -> bool:
        workers[:] = psutil.Process(sweep.pid).children(recursive=True)
        if len(workers) < 2:
            return False
        time.sleep(1)  # the workers arm their parent-death signal as they start
        workers[:] = psutil.Process(sweep.pid).children(recursive=True)
        return True

    kill_when(sweep, two_workers, "the pool's two workers")
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, f"workers outlived the killed sweep: {[p.pid for p in alive]}"
    ok(*args)  # the same sweep again: resumes into the same folder
    done = json.loads(runner.invoke(app, [*map(str, args), "--json"]).stdout)  # all done: nothing runs again
    assert done["ran"] == 0, done
    assert leftovers(out) == [] and hidden_under(out) == []


def test_search_killed_mid_trial_resumes_without_a_stuck_or_repeated_trial(tmp_path, made):
    """kill -9 during a trial: the resumed search marks it failed (not RUNNING forever), and no trial of the study
    trains settings an earlier one already drew (a repeat is pruned, naming the earlier trial)."""
    import optuna

    from kdedge.budget_search.study import STUDY_NAME, _storage

    out = tmp_path / "se"
    args = ["--families", "tree", "--max-size-kb", "10000", "--min-seconds", "1"]  # >= 1 s in a trial: caught
    first = kdedge("search", "--teacher", made["teacher"], "--out", out, "--trials", 5, *args)

    def trials():
        return optuna.load_study(study_name=STUDY_NAME, storage=_storage(out)).trials

    def a_trial_runs() -> bool:
        return (out / "study.db").is_file() and any(t.state.name == "RUNNING" for t in trials())

    kill_when(first, a_trial_runs, "a running trial")
    killed = [t.number for t in trials() if t.state.name == "RUNNING"]
    ok("search", "--resume", out, "--trials", 2)
    after = {t.number: t for t in trials()}
    assert all(after[n].state.name == "FAIL" and "killed" in after[n].user_attrs["reason"] for n in killed)
    assert not any(t.state.name == "RUNNING" for t in after.values())
    trained = [t for t in after.values() if t.state.name == "COMPLETE"]
    assert len({json.dumps(t.params, sort_keys=True) for t in trained}) == len(trained)  # no settings trained twice
    assert leftovers(out) == [] and hidden_under(out) == []


def test_a_killed_writers_lock_is_taken_over(tmp_path):
    """The lock is the kernel's (flock): a writer killed while holding it frees it, whatever files it left."""
    folder = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from kdedge.outputs import writing\nwith writing({str(folder)!r}):\n    input()"],
        env=ENV,
        stdin=subprocess.PIPE,
    )
    kill_when(holder, lambda: (tmp_path / ".run.lock.pid").exists(), "the lock")
    with writing(folder):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == []
