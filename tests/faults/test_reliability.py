"""Nothing lost, nothing crashes (issue #13), beyond the table of `test_table.py`: `--overwrite` still replaces what
kdedge wrote, a full disk or read-only folder is one line and no half folder, one writer per folder, a bug is one line
(exit 1), the consent for a recipe's code, and the same seed writing the same bytes in every family."""

from __future__ import annotations

import errno
import json
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.errors import RunError
from kdedge.outputs import writing

from .kit import Workspace
from .kit import one_line as _one_line
from .kit import snapshot as _snapshot

runner = CliRunner()


def test_out_dot_overwrite_refuses_the_folder_you_are_in(tmp_path, made, monkeypatch):
    ws = Workspace(tmp_path, made)
    run, teacher = ws.run("mlp"), ws.run("teacher")  # even a kdedge run: replacing the folder you are in is refused
    monkeypatch.chdir(run)
    before = _snapshot(tmp_path)
    line = _one_line(runner.invoke(app, ["distill", "--teacher", str(teacher), "--out", ".", "--overwrite"]))
    assert "the folder you are in" in line
    assert _snapshot(tmp_path) == before


def test_overwrite_replaces_what_kdedge_wrote(tmp_path, made):
    """--overwrite still works on kdedge's own files: a predictions CSV written by predict."""
    ws = Workspace(tmp_path, made)
    x, out = ws.npz("x.npz", x=np.zeros((2, 1, 8, 8))), tmp_path / "pred.csv"
    model = ws.run("mlp") / "model.onnx"
    assert runner.invoke(app, ["predict", str(model), str(x), "--out", str(out)]).exit_code == 0
    first = out.read_bytes()
    again = runner.invoke(app, ["predict", str(model), str(x), "--out", str(out), "--overwrite"])
    assert again.exit_code == 0, again.output
    assert out.read_bytes() == first


def test_opset_recorded_is_the_graphs(tmp_path, made):
    import onnx

    ws = Workspace(tmp_path, made)
    run = ws.run("tree")
    result = runner.invoke(app, ["export", str(run), "--opset", "17", "--json"])
    assert result.exit_code == 0, result.output
    graph = onnx.load(str(run / "model.onnx"))
    written = max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx"))
    assert json.loads(result.stdout)[str(run)]["opset"] == written
    assert json.loads((run / "kdedge.json").read_text())["export"]["opset"] == written
    assert graph.graph.name == "kdedge_tree"  # not skl2onnx's random uuid: the same model gives the same bytes


def test_bench_says_when_a_students_teacher_changed(tmp_path, made):
    from kdedge.measure.runs import bench_entries

    ws = Workspace(tmp_path, made)
    teacher, student = ws.run("teacher"), ws.run("mlp")
    ws.edit_manifest(student, lambda m: m["teacher"].update(path=str(teacher.resolve()), fingerprint="0" * 16))
    _, _, notes = bench_entries([student, teacher])
    assert any("distill it again" in n and str(student) in n for n in notes), notes


# -- full disk, read-only folders: one line, nothing half-built ------------------------------------------------------


def _failing_replace(code):
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if not str(Path(dst).name).startswith("."):  # the final rename into place: where a full disk is felt
            raise OSError(code, os.strerror(code), str(dst))
        return real(src, dst, *args, **kwargs)

    return replace


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES], ids=["full", "read-only", "denied"])
def test_write_refused_by_the_file_system(tmp_path, made, monkeypatch, code):
    ws = Workspace(tmp_path, made)
    teacher = ws.run("teacher")
    before = _snapshot(tmp_path)
    monkeypatch.setattr("kdedge._io.os.replace", _failing_replace(code))
    # --method hard: no teacher outputs, so the first write is the run folder (a cache entry is another path)
    args = ["distill", "--teacher", str(teacher), "--method", "hard", "--epochs", "1", "--hidden", "8"]
    line = _one_line(runner.invoke(app, [*args, "--out", str(tmp_path / "s")]))
    assert os.strerror(code) in line and str(tmp_path / "s") in line
    assert _snapshot(tmp_path) == before  # no .partial folder, no lock file


@pytest.mark.parametrize(
    "writer, command",
    [
        ("kdedge.recipes.runner.write_json", ["run", "quick"]),
        ("kdedge.sweep.write_json", ["sweep", "quick", "--grid", "seed=0,1"]),
    ],
    ids=["run", "sweep"],
)
def test_recipe_or_sweep_into_a_full_disk_leaves_no_half_folder(tmp_path, monkeypatch, writer, command):
    def full(path, payload):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(writer, full)
    line = _one_line(runner.invoke(app, [*command, "--out", str(tmp_path / "new" / "r")]))
    assert "No space left" in line
    assert list(tmp_path.iterdir()) == []


# -- one writer per folder ---------------------------------------------------------------------------------------------


@contextmanager
def written_by_another_thread(path: Path):
    """`path` held by `writing` in another thread for the duration of the block (a second writer's view)."""
    held, done = threading.Event(), threading.Event()

    def hold():
        with writing(path):
            held.set()
            done.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        yield
    finally:
        done.set()
        holder.join()


def test_second_writer_in_another_thread_fails_at_once(tmp_path):
    folder = tmp_path / "run"
    with written_by_another_thread(folder):
        expected = rf"{folder.name} is being written by another kdedge command \(pid {os.getpid()}\)"
        with pytest.raises(RunError, match=expected), writing(folder):
            pass
    with writing(folder):  # released: the next writer gets it
        pass
    assert list(tmp_path.iterdir()) == []  # the lock leaves nothing behind


@pytest.mark.parametrize("command", ["predict", "bench-out", "bench-csv", "report"])
def test_a_second_writer_of_one_output_file_fails_at_once(tmp_path, made, command):
    """While one command holds an output file (from its check to its write), another writing it exits 2 at once,
    instead of both succeeding and one result replacing the other."""
    ws = Workspace(tmp_path, made)
    target = tmp_path / "out.file"
    x = ws.npz("x.npz", x=np.zeros((2, 1, 8, 8)))
    fast = ["--min-runs", "1", "--min-seconds", "0", "--no-memory"]
    args = {
        "predict": ["predict", str(ws.run("mlp") / "model.onnx"), str(x), "--out", str(target)],
        "bench-out": ["bench", str(ws.run("mlp")), *fast, "--out", str(target)],
        "bench-csv": ["bench", str(ws.run("mlp")), *fast, "--csv", str(target)],
        "report": ["report", str(ws.run("mlp").parent), "--out", str(target)],
    }[command]
    with written_by_another_thread(target):
        before = _snapshot(tmp_path)
        line = _one_line(runner.invoke(app, args))
        assert f"{target} is being written by another kdedge command" in line
        assert _snapshot(tmp_path) == before
    assert runner.invoke(app, args).exit_code == 0  # released: the next writer gets it


def test_a_bug_is_one_line_and_exit_1_unless_debugging(tmp_path, made, monkeypatch):
    def broken(path):
        raise ZeroDivisionError("division by zero in a helper")

    monkeypatch.setattr("kdedge.predict.model_info", broken)
    args = ["predict", str(made["mlp"] / "model.onnx"), str(tmp_path / "x.npy")]
    monkeypatch.delenv("KDEDGE_DEBUG", raising=False)
    result = runner.invoke(app, args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.stderr
    assert "unexpected ZeroDivisionError: division by zero in a helper" in lines[0] and "--debug" in lines[0]
    result = runner.invoke(app, ["--debug", *args])
    assert result.exit_code == 1 and isinstance(result.exception, ZeroDivisionError)  # the traceback is kept


FACTORY = """
from kdedge import nets

def build():
    return nets.build("cnn", (1, 8, 8), 10, [[[0.0]]], [[[1.0]]], channels=(32, 64, 64))
"""


def _factory_recipe(ws) -> Path:
    """A recipe in project/ whose teacher is a weights file built by a factory: the factory file's code runs. Both
    are named relative to the recipe."""
    ws.folder("project")
    shutil.copy(ws.made["teacher"] / "weights.safetensors", ws.root / "project" / "teacher.safetensors")
    ws.file("project/build_teacher.py", FACTORY)
    return ws.file(
        "project/r.toml",
        'description = "a factory teacher"\n\n[data]\nname = "digits"\n\n[teacher]\npath = "teacher.safetensors"\n'
        'factory = "build_teacher.py:build"\n\n'
        '[[students]]\nname = "tree"\nfamily = "tree"\nmethod = "logits"\nmax_depth = 4\n\n'
        "[bench]\nmemory = false\nmin_runs = 1\nmin_seconds = 0.01\n",
    )


def test_a_recipe_factory_runs_only_with_trust_code(tmp_path, made, monkeypatch):
    """...and its file is found beside the recipe, from any working folder, also when a finished run replays it."""
    ws = Workspace(tmp_path, made)
    recipe, out = _factory_recipe(ws), tmp_path / "out"
    monkeypatch.chdir(ws.folder("elsewhere"))
    before = _snapshot(tmp_path)
    for command in (["run", recipe, "--out", out], ["sweep", recipe, "--grid", "seed=0,1", "--out", out]):
        line = _one_line(runner.invoke(app, [str(a) for a in command]))
        assert "teacher.factory" in line and "--trust-code" in line
        assert _snapshot(tmp_path) == before
    result = runner.invoke(app, ["run", str(recipe), "--out", str(out), "--trust-code"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "recipe.json").read_text())["trusted_code"] is True
    replay = runner.invoke(app, ["run", str(out), "--out", str(tmp_path / "again")])  # a copied run: consent again
    assert replay.exit_code == 2 and "--trust-code" in replay.stderr
    monkeypatch.chdir(ws.folder("yet-another"))
    replay = runner.invoke(app, ["run", str(out), "--out", str(tmp_path / "again"), "--trust-code"])
    assert replay.exit_code == 0, replay.output
    factory = json.loads((tmp_path / "again" / "recipe.json").read_text())["resolved"]["teacher"]["factory"]
    assert factory == "build_teacher.py:build"  # the record keeps the recipe's words; the path is resolved on use


def test_export_after_a_killed_export_clears_its_temporary_file(tmp_path, made):
    """kill -9 inside `atomic_path` leaves RUN/.model.onnx.XXXXXXXX.partial; the next writer of the run removes it."""
    ws = Workspace(tmp_path, made)
    run = ws.run("tree")
    stale = ws.file(f"runs/tree/.model.onnx.{'k' * 8}.partial", b"half a graph")
    result = runner.invoke(app, ["export", str(run)])
    assert result.exit_code == 0, result.output
    assert not stale.exists()
    assert sorted(p.name for p in run.parent.iterdir()) == ["tree"]  # and no lock file beside the run


@pytest.mark.parametrize(
    "family, options",
    [("forest", {"n_estimators": 3}), ("svm", {}), ("tree", {"max_depth": 4}), ("gbdt", {"n_estimators": 3})],
)
def test_same_seed_same_weight_bytes(tmp_path, teacher_run, family, options):
    """Caches and chains key on weights_sha256: two fits with one seed must write the same bytes in every family."""
    from kdedge.api import distill

    a, b = (
        distill(teacher_run.path, out=tmp_path / name, student=family, method="logits", seed=3, **options)
        for name in ("a", "b")
    )
    assert a.manifest.weights_sha256 == b.manifest.weights_sha256
    for name in a.manifest.weights:
        assert (a.path / name).read_bytes() == (b.path / name).read_bytes(), name


def test_folder_records_name_every_kind_of_kdedge_folder():
    from kdedge import outputs, runs, sweep
    from kdedge.budget_search import study
    from kdedge.recipes import loader

    assert set(outputs.FOLDER_RECORDS) == {runs.MANIFEST, loader.RECORD, sweep.PLAN, study.CONFIG}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["distill", "--bogus"], "No such option: --bogus"),
        (["teacher", "eval"], "Missing argument 'teacher'"),
        (["distill", "--epochs", "abc"], "Invalid value for '--epochs'"),
        (["bogus"], "No such command 'bogus'"),
    ],
)
def test_usage_errors_of_the_console_script_are_one_line(argv, message, tmp_path):
    """The parser's own errors (unknown flag, missing argument, a value of the wrong type) as the installed
    command prints them: one line naming the problem and where the help is, exit 2 — not click's framed box."""
    import subprocess
    import sys

    code = "import sys; from kdedge.cli import main; sys.argv = ['kdedge', *sys.argv[1:]]; main()"
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0] and "--help" in lines[0]
    assert list(tmp_path.iterdir()) == []
