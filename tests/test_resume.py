"""A killed training resumes from its checkpoint when the same command runs again, to the very same weights."""

from pathlib import Path

import pytest

import kdedge
from kdedge.distillation import checkpoint, loop

OPTIONS = {"hidden": 32, "epochs": 5, "patience": 5, "transfer": "shift+mixup", "teacher_mode": "online"}


class Killed(Exception):
    pass


def _killed_at_epoch(monkeypatch, epoch: int):
    calls = {"n": 0}
    real = loop.evaluate

    def evaluate(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == epoch:
            raise Killed  # as a kill would, after epochs 1..epoch-1 were saved
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "evaluate", evaluate)


def test_a_killed_distill_resumes_to_the_same_weights(tmp_path, monkeypatch, teacher_run, capsys):
    monkeypatch.setenv("KDEDGE_CHECKPOINT_EVERY", "0")  # save every epoch
    reference = kdedge.distill(teacher_run.path, out=tmp_path / "whole", **OPTIONS)

    out = tmp_path / "mlp"
    with monkeypatch.context() as patch:
        _killed_at_epoch(patch, 4)
        with pytest.raises(Killed):
            kdedge.distill(teacher_run.path, out=out, **OPTIONS)
    assert not out.exists()  # nothing half-written where the run goes
    saved = checkpoint.resume_folder(out)
    # epochs 1-3 were saved (a stage's last epoch never is: the run itself is written next)
    assert (saved / "stage1.pt").is_file() and checkpoint.load(saved / "stage1.pt")["epoch"] == 3

    monkeypatch.delenv("KDEDGE_QUIET")
    resumed = kdedge.distill(teacher_run.path, out=out, **OPTIONS)
    assert "resuming from epoch 3/5" in capsys.readouterr().err
    assert (out / "weights.safetensors").read_bytes() == (reference.path / "weights.safetensors").read_bytes()
    assert resumed.manifest.metrics["test_accuracy"] == reference.manifest.metrics["test_accuracy"]
    assert not saved.exists()  # gone once the run is in place


def _kill_at_epoch_3(monkeypatch, teacher_run, out):
    monkeypatch.setenv("KDEDGE_CHECKPOINT_EVERY", "0")
    with monkeypatch.context() as patch:
        _killed_at_epoch(patch, 3)
        with pytest.raises(Killed):
            kdedge.distill(teacher_run.path, out=out, **OPTIONS)
    return checkpoint.resume_folder(out)


def test_another_command_is_refused_in_one_line_and_overwrite_discards_the_checkpoint(
    tmp_path, monkeypatch, teacher_run
):
    from typer.testing import CliRunner

    from kdedge.cli import app

    out = tmp_path / "mlp"
    saved = _kill_at_epoch_3(monkeypatch, teacher_run, out)
    monkeypatch.delenv("KDEDGE_DEBUG", raising=False)
    other = [
        "distill",
        "--teacher",
        str(teacher_run.path),
        "--out",
        str(out),
        "--hidden",
        "16",
        "--epochs",
        "5",
        "--transfer",
        "shift+mixup",
        "--teacher-mode",
        "online",
    ]  # another student than the killed one
    refused = CliRunner().invoke(app, other)
    assert refused.exit_code == 2 and len(refused.output.strip().splitlines()) == 1, refused.output
    assert "belongs to another command" in refused.output and "--overwrite" in refused.output
    assert (saved / "stage1.pt").is_file() and not out.exists()  # nothing discarded, nothing half-written

    monkeypatch.delenv("KDEDGE_QUIET")
    started = CliRunner().invoke(app, [*other, "--overwrite"])
    assert started.exit_code == 0, started.output
    assert "resuming" not in started.output and not saved.exists() and (out / "kdedge.json").is_file()


def test_a_checkpoint_from_another_kdedge_version_is_refused(tmp_path, monkeypatch, teacher_run):
    import json

    from kdedge.errors import RunError

    out = tmp_path / "mlp"
    saved = _kill_at_epoch_3(monkeypatch, teacher_run, out)
    key = json.loads((saved / "key.json").read_text())
    (saved / "key.json").write_text(json.dumps({**key, "version": "0.0.1"}))
    with pytest.raises(RunError, match=r"written by kdedge 0\.0\.1 \(this is .*--overwrite"):
        kdedge.distill(teacher_run.path, out=out, **OPTIONS)
    assert (saved / "stage1.pt").is_file()


def test_a_damaged_checkpoint_starts_the_stage_over_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("KDEDGE_QUIET", raising=False)
    path = Path(tmp_path) / "stage1.pt"
    path.write_bytes(b"not a checkpoint")
    assert checkpoint.load(path) is None
    assert "cannot be read" in capsys.readouterr().err


def test_a_folder_the_user_made_where_the_checkpoint_goes_is_left_alone(tmp_path, teacher_run):
    from kdedge.errors import RunError

    out = tmp_path / "mlp"
    theirs = checkpoint.resume_folder(out)
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="is not a kdedge checkpoint"):
        kdedge.distill(teacher_run.path, out=out, **OPTIONS)
    assert (theirs / "notes.txt").read_text() == "mine" and not out.exists()
