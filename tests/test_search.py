"""`kdedge search` with a handful of small trials on digits."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from kdedge.cli import app

runner = CliRunner()
FAST = [
    "--families",
    "mlp",
    "--max-epochs",
    "3",
    "--min-seconds",
    "0.05",
    "--no-prune",
]  # pruning: test_search_budget.py


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


def _row(trial, acc, p50, size, broken=(), family="mlp", **more):
    return {"trial": trial, "state": "COMPLETE", "family": family, "settings": "", "broken": list(broken),
            "val_accuracy": acc, "agreement": acc, "p50_us": p50, "size_kb": size, "memory_mb": 1.0,
            "n_params": 100, **more}  # fmt: skip


def test_the_front_is_computed_once_and_never_holds_a_trial_over_budget(tmp_path):
    from kdedge.budget_search import report
    from kdedge.budget_search.budget import Budget

    budget = Budget(max_latency_us=40, max_size_kb=100, max_memory_mb=5, min_agreement=0.8)
    rows = [
        _row(0, 0.95, 10, 50),
        _row(1, 0.99, 5, 500, ["size KB 500 > 100"], family="gbdt"),  # best and fastest, but too big
        _row(2, 0.97, 30, 80, family="gbdt"),
        _row(3, 0.90, 20, 60),  # dominated by trial 0
        _row(4, 0.96, 12, 40, family="tree"),
    ]
    front = report.mark_front(rows)
    assert [r["trial"] for r in front] == [0, 4, 2] and not rows[1]["pareto"]
    report.write_tables(tmp_path, rows, budget)
    shown = report.plot(tmp_path / "pareto.png", rows, budget)
    starred = [int(line.split("|")[1]) for line in (tmp_path / "pareto.md").read_text().splitlines() if "★ |" in line]
    assert sorted(starred) == shown["front"] == [0, 2, 4]  # the plot's stars are the table's
    # the title in plain words, every budget on some panel's axes (where it is shaded)
    assert "{" not in shown["title"] and "'" not in shown["title"]
    assert "p50 ≤ 40 µs" in shown["title"] and "size ≤ 100 KB" in shown["title"]
    assert "agreement with the teacher ≥ 80 %" in shown["title"]
    on_axes = {figure for panel in shown["panels"] for figure in panel}
    assert {"p50_us", "size_kb", "memory_mb", "agreement"} <= on_axes
    assert (tmp_path / "pareto.png").read_bytes().startswith(b"\x89PNG")


def test_budgets_a_target_does_not_measure_are_refused(tmp_path, teacher_run):
    result = search("--teacher", teacher_run.path, "--max-flash-kb", 64, "--out", tmp_path / "a")
    assert result.exit_code == 2 and "--max-flash-kb" in result.output and "--target c" in result.output
    result = search("--teacher", teacher_run.path, "--target", "c", "--max-memory-mb", 5, "--out", tmp_path / "b")
    assert result.exit_code == 2 and "--max-ram-kb" in result.output
    result = search("--teacher", teacher_run.path, "--target", "c", "--families", "resnet", "--out", tmp_path / "c")
    assert result.exit_code == 2 and "has a C export" in result.output
    result = search("--teacher", teacher_run.path, "--target", "c-int8", "--families", "tree", "--out", tmp_path / "d")
    assert result.exit_code == 2 and "has an int8 C export; search cnn, mlp" in result.output  # int8 C: no trees
    assert not any((tmp_path / name).exists() for name in "abcd")


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="needs a C compiler (gcc)")
@pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None,
    reason="needs arm-none-eabi-gcc for flash/RAM (scripts/install-system-deps.sh: apt-get install gcc-arm-none-eabi)",
)
def test_c_search_times_in_c_and_budgets_flash_and_ram(tmp_path, teacher_run, monkeypatch):
    from kdedge.measure import c_harness

    # The winner's final bench times in C for the default 1 s and keeps every per-call time (raw_us): ~20 M floats
    # per C row for a depth-4 tree, which took over 2 minutes to write as JSON. 50 calls per row is all this test
    # reads (the figures exist and are positive); the loop and the rows are the same.
    timed = c_harness.time_c
    monkeypatch.setattr(c_harness, "time_c", lambda *a, **k: timed(*a, **{**k, "min_seconds": 0.0}))
    space = tmp_path / "space.toml"  # one depth-4 tree, and a family with no C path
    space.write_text(
        '[tree]\nmax_depth = [4]\nmethod = ["logits"]\ntransfer = ["augment"]\ntransfer_size = ["5x"]\n'
        "[resnet]\ndepth = [8]\n"
    )
    out = tmp_path / "s"
    result = search(
        "--teacher", teacher_run.path, "--target", "c", "--space", space, "--max-flash-kb", 64, "--max-ram-kb", 8,
        "--trials", 1, "--min-seconds", 0.05, "--out", out, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert "no C export for resnet" in summary["skipped_families"]["resnet"]
    (t,) = _study_trials(out)
    assert t.state.name == "COMPLETE" and t.user_attrs["family"] == "tree"
    figures = t.user_attrs["figures"]
    mcu = json.loads((out / "trials" / "0000" / "kdedge.json").read_text())["c_export"]["mcu"]  # its own C export
    assert figures["flash_kb"] == mcu["flash_kb"] <= 64 and 0 < figures["ram_kb"] == mcu["ram_kb"] <= 8
    assert figures["memory_mb"] is None and figures["p50_us"] > 0 and not t.user_attrs["broken"]
    assert t.values[2] == figures["flash_kb"]  # the size objective is the flash
    rows = {r["name"]: r for r in summary["test"]["rows"]}
    assert rows["best C"]["target"] == "c" and "C floor" in rows  # the winner timed in C on the test split
    md = (out / "pareto.md").read_text()
    assert "flash KB" in md and "RAM KB" in md and "flash ≤ 64 KB" in md and "mem MB" not in md and "★" in md

    # the budgets apply to the C figures: a RAM limit no tree meets breaks it, named with the measured RAM
    result = search(
        "--teacher", teacher_run.path, "--target", "c", "--space", space, "--max-ram-kb", 0.01,
        "--trials", 1, "--min-seconds", 0.05, "--out", tmp_path / "tight",
    )  # fmt: skip
    assert result.exit_code == 2 and f"RAM KB {figures['ram_kb']:.4g} > 0.01" in result.output, result.output


@pytest.mark.parametrize("kind", ["onnx", "torchscript"])
def test_a_search_takes_an_onnx_or_torchscript_teacher_as_distill_does(tmp_path, teacher_files, kind):
    """One resolver for every surface: a teacher file (not a run) searches like a run teacher, with --data."""
    teacher = teacher_files[kind]
    out = tmp_path / "se"
    r = search("--teacher", teacher, "--data", "digits", *FAST, "--trials", 2, "--out", out, "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    rows = {row["name"] for row in summary["test"]["rows"]}
    assert "best" in rows and ("teacher" in rows) == (kind == "onnx")  # a TorchScript teacher has no graph to bench
