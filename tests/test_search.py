"""`kdedge search` with a handful of small trials on digits."""

import json

import pytest
from typer.testing import CliRunner

from kdedge.cli import app

runner = CliRunner()
FAST = ["--families", "mlp", "--max-epochs", "3", "--min-seconds", "0.05"]


def search(*args):
    return runner.invoke(app, ["search", *map(str, args)])


def _study_trials(out):
    import optuna

    from kdedge.budget_search.study import STUDY_NAME, _storage

    return optuna.load_study(study_name=STUDY_NAME, storage=_storage(out)).trials


@pytest.fixture(scope="module")
def feasible(tmp_path_factory, teacher_run):
    out = tmp_path_factory.mktemp("search") / "s"
    result = search(
        "--teacher",
        teacher_run.path,
        "--max-latency-us",
        10_000,
        "--max-size-kb",
        256,
        "--trials",
        3,
        "--out",
        out,
        *FAST,
    )
    return out, result


def test_feasible_budget_keeps_the_most_accurate_fitting_student(feasible, teacher_run):
    out, result = feasible
    assert result.exit_code == 0, result.output
    for name in ("pareto.md", "pareto.csv", "pareto.png", "summary.json", "study.db", "best/model.onnx"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    completed = [t for t in _study_trials(out) if t.state.name == "COMPLETE"]
    assert summary["completed"] == len(completed) == 3
    best_val = max(t.user_attrs["figures"]["val_accuracy"] for t in completed)
    assert summary["best"]["val_accuracy"] == best_val  # selected on validation data
    rows = {r["name"]: r for r in summary["test"]["rows"]}
    assert set(rows) >= {"best", "teacher"} and rows["teacher"]["kind"] == "teacher"  # test figures beside teacher
    assert "★" in (out / "pareto.md").read_text()
    for t in completed:  # every trial was really exported and measured
        figures = t.user_attrs["figures"]
        assert figures["p50_us"] > 0 and figures["size_kb"] > 0 and figures["memory_mb"] >= 0
        assert (out / "trials" / f"{t.number:04d}" / "model.onnx").is_file()


def test_resume_adds_trials_to_the_same_study(feasible):
    out, _ = feasible
    result = search("--resume", out, "--trials", 1)
    assert result.exit_code == 0, result.output
    assert len(_study_trials(out)) == 4


def test_impossible_budget_exits_2_naming_the_closest_trials(tmp_path, teacher_run):
    result = search(
        "--teacher", teacher_run.path, "--max-latency-us", 0.01, "--trials", 1, "--out", tmp_path / "s", *FAST
    )
    assert result.exit_code == 2
    assert "no trial fits the budget" in result.output and "closest: trial" in result.output
    assert "p50 µs" in result.output


def test_size_estimate_prunes_before_training(tmp_path, teacher_run):
    result = search("--teacher", teacher_run.path, "--max-size-kb", 0.5, "--trials", 2, "--out", tmp_path / "s", *FAST)
    assert result.exit_code == 2
    trials = _study_trials(tmp_path / "s")
    assert all(t.state.name == "PRUNED" and t.user_attrs["reason"].startswith("estimate") for t in trials)
    assert not (tmp_path / "s" / "trials").exists()  # nothing was trained


def test_two_workers_share_one_study(tmp_path, teacher_run):
    out = tmp_path / "s"
    result = search("--teacher", teacher_run.path, "--trials", 2, "--jobs", 2, "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    trials = _study_trials(out)
    assert len(trials) == 2 and {t.state.name for t in trials} == {"COMPLETE"}


def test_bad_budget_and_space(tmp_path, teacher_run):
    result = search("--teacher", teacher_run.path, "--max-size-kb", -1, "--out", tmp_path / "a")
    assert result.exit_code == 2 and "--max-size-kb must be positive" in result.output
    result = search("--teacher", teacher_run.path, "--families", "quantum", "--out", tmp_path / "b")
    assert result.exit_code == 2 and "quantum" in result.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
