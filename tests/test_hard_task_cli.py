"""The hard-task path as a user types it: digits-shift, online teaching on shift+mixup views, offline view sets for
non-neural students, fidelity in the run and in bench; the same commands on 1-D sequences."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_sequences import synthetic_sequences
from typer.testing import CliRunner

from kdedge.cli import app

runner = CliRunner()
SMALL = ["--data", "digits-shift", "--samples", 300]


def kdedge(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def shift_teacher(tmp_path_factory):
    out = tmp_path_factory.mktemp("hard") / "teacher"
    r = kdedge("teacher", "train", *SMALL, "--channels", "8,16,16", "--epochs", 3, "--out", out)
    assert r.exit_code == 0, r.output
    return out


def test_online_distill_export_bench_on_digits_shift(shift_teacher, tmp_path):
    student = tmp_path / "mlp"
    r = kdedge(
        "distill", "--teacher", shift_teacher, "--student", "mlp", "--hidden", 32, "--method", "kd",
        "--temperature", 1, "--alpha", 1, "--transfer", "shift+mixup", "--teacher-mode", "online", "--max-shift", 3,
        "--schedule", "cosine", "--warmup-epochs", 1, "--epochs", 4, "--select-by", "agreement", "--out", student,
        "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    manifest = json.loads((student / "kdedge.json").read_text())
    assert manifest["data"]["source"] == "digits-shift" and manifest["data"]["reader_options"] == {"samples": 300}
    assert manifest["transfer"]["kind"] == "shift+mixup" and manifest["transfer"]["teacher_mode"] == "online"
    assert manifest["transfer"]["max_shift"] == 3 and manifest["transfer"]["generated"] == 0
    metrics = manifest["metrics"]
    assert metrics["selected_by"] == "val agreement" and metrics["epochs_run"] == 4
    assert 0 <= metrics["val_agreement"] <= 1 and metrics["val_kl"] >= 0
    assert set(manifest["compute"]["teacher_outputs"]) == {"val"}  # online: no fixed set is labelled
    assert manifest["student"]["params"]["schedule"] == "cosine"

    assert kdedge("export", shift_teacher, student).exit_code == 0
    bench_json = tmp_path / "bench.json"
    r = kdedge(
        "bench", student, shift_teacher, *SMALL, "--min-seconds", 0.05, "--no-memory", "--out", bench_json,
        "--columns", "agree,kl",  # KL is not a key column
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = {row["name"]: row for row in json.loads(bench_json.read_text())["rows"]}
    assert rows["mlp"]["kl_teacher"] >= 0 and "KL" in r.output
    assert rows["mlp"]["agreement"] == pytest.approx(
        json.loads((student / "kdedge.json").read_text())["metrics"]["test_agreement_with_teacher"]
    )


def test_nonneural_student_learns_from_an_offline_view_set(shift_teacher, tmp_path):
    out = tmp_path / "forest"
    r = kdedge(
        "distill", "--teacher", shift_teacher, "--student", "forest", "--n-estimators", 5, "--method", "logits",
        "--transfer", "shift+mixup", "--transfer-size", "3x", "--out", out,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "kdedge.json").read_text())
    assert manifest["transfer"]["size"] == 900 and manifest["transfer"]["generated"] == 600
    assert 0 <= manifest["metrics"]["val_agreement"] <= 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--student", "tree", "--method", "logits", "--transfer", "shift", "--teacher-mode", "online"], "non-neural"),
        (["--student", "mlp", "--method", "hard", "--transfer", "shift+mixup"], "learns from labels only"),
        (
            ["--student", "mlp", "--teacher-mode", "online"],
            "--teacher-mode does not apply to --student mlp, --method kd or --transfer train; it applies to "
            "--transfer shift",
        ),
        (["--student", "mlp", "--method", "hard", "--select-by", "agreement", "--epochs", 1], "--select-by agreement"),
        (["--student", "mlp", "--schedule", "linear"], "--schedule"),
        (["--student", "forest", "--schedule", "cosine"], "--schedule does not apply to --student forest"),
    ],
)
def test_bad_teaching_options_fail_in_one_line(shift_teacher, tmp_path, args, message):
    out = tmp_path / "bad"
    r = kdedge("distill", "--teacher", shift_teacher, *args, "--out", out)
    assert r.exit_code == 2, r.output
    assert message in r.output and len(r.output.strip().splitlines()) == 1
    assert not out.exists()


def test_online_teaching_on_sequences(tmp_path):
    x, y, names = synthetic_sequences()
    data = tmp_path / "waves.npz"
    np.savez(data, x=x, y=y, class_names=names)
    teacher, student, forest = tmp_path / "teacher", tmp_path / "mlp", tmp_path / "forest"
    r = kdedge("teacher", "train", "--data", data, "--channels", "8,16", "--epochs", 5, "--out", teacher)
    assert r.exit_code == 0, r.output
    r = kdedge(
        "distill", "--teacher", teacher, "--student", "mlp", "--hidden", 16, "--transfer", "shift+mixup",
        "--teacher-mode", "online", "--epochs", 3, "--out", student,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = kdedge(
        "distill", "--teacher", teacher, "--student", "forest", "--n-estimators", 5, "--method", "logits",
        "--transfer", "shift", "--transfer-size", "2x", "--out", forest,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    manifest = json.loads((forest / "kdedge.json").read_text())
    assert manifest["transfer"]["generated"] == manifest["transfer"]["size"] // 2


def test_search_on_digits_shift_with_online_teaching(shift_teacher, tmp_path):
    """The default space offers the small CNN's channels and online shift+mixup teaching; a search restricted to
    them runs every trial online, with agreement as the objective."""
    import optuna

    from kdedge.budget_search.space import load_space
    from kdedge.budget_search.study import STUDY_NAME, _storage

    default = load_space(None, None)
    assert "channels" in default["cnn"] and "shift+mixup" in default["cnn"]["transfer"]
    assert default["mlp"]["teacher_mode"] == ["online"]
    space = tmp_path / "space.toml"
    space.write_text(
        '[cnn]\nchannels = ["4,8,8", "8,16,16"]\nmethod = ["kd"]\ntemperature = [1.0]\nalpha = [1.0]\n'
        'transfer = ["shift+mixup"]\nteacher_mode = ["online"]\nschedule = ["cosine"]\n'
    )
    out = tmp_path / "search"
    r = kdedge(
        "search", "--teacher", shift_teacher, "--space", space, "--trials", 2, "--max-epochs", 2,
        "--min-seconds", 0.05, "--objective", "agreement", "--max-size-kb", 4096, "--out", out, "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    for trial in optuna.load_study(study_name=STUDY_NAME, storage=_storage(out)).trials:
        manifest = json.loads((out / "trials" / f"{trial.number:04d}" / "kdedge.json").read_text())
        assert manifest["transfer"]["teacher_mode"] == "online" and manifest["transfer"]["kind"] == "shift+mixup"
        assert manifest["student"]["params"]["schedule"] == "cosine"
    summary = json.loads((out / "summary.json").read_text())
    assert 0 <= summary["best"]["agreement"] <= 1
