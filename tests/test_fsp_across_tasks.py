"""FSP across tasks (Yim et al.): a teacher trained on digits 0-4 only still teaches its flow to a student that
learns all ten digits; the teacher's outputs (other classes) are never used, and a KD term is refused."""

import numpy as np
import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.runs import Run

runner = CliRunner()

STUDENT = ("--student", "resnet", "--depth", 8, "--width", 4, "--epochs", 8, "--stage1-epochs", 4)


def kdedge(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def low_digits_teacher(tmp_path_factory, digits):
    """A tiny ResNet taught digits 0-4 only: the same (1, 8, 8) inputs, another task."""
    folder = tmp_path_factory.mktemp("other-task")
    keep = digits.y < 5
    data = folder / "digits0-4.npz"
    np.savez(data, x=digits.x[keep], y=digits.y[keep])
    out = folder / "teacher"
    r = kdedge(
        "teacher", "train", "--data", data, "--arch", "resnet", "--depth", 8, "--width", 4, "--epochs", 6,
        "--out", out,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    return out


def test_fsp_learns_from_a_teacher_of_other_classes(tmp_path, low_digits_teacher):
    out = tmp_path / "fsp"
    r = kdedge("distill", "--teacher", low_digits_teacher, "--data", "digits", *STUDENT, "--method", "fsp",
               "--alpha", 0, "--out", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    manifest = Run.load(out).manifest
    assert manifest.data.n_classes == 10
    teacher = manifest.teacher
    assert teacher["other_task"] is True and teacher["class_names"] == ["0", "1", "2", "3", "4"]
    metrics = manifest.metrics
    stage1 = metrics["stage1"]
    assert stage1["pairs"] == ["stem:stage1", "stage1:stage2", "stage2:stage3"]
    assert stage1["val_fsp_loss"] < stage1["val_fsp_loss_first_epoch"]  # the student learned the teacher's flow
    assert metrics["test_accuracy"] > 0.6  # all ten digits, from the labels (chance is 0.1)
    assert "test_agreement_with_teacher" not in metrics  # the teacher's labels are other classes
    assert not (out / "targets").exists()  # its logits were never computed

    r = kdedge("export", out)
    assert r.exit_code == 0, r.output  # the parity gate passed
    assert (out / "model.onnx").is_file()


def test_a_kd_term_across_tasks_is_refused_in_one_line(tmp_path, low_digits_teacher):
    r = kdedge("distill", "--teacher", low_digits_teacher, "--data", "digits", *STUDENT, "--method", "fsp",
               "--alpha", 0.5, "--out", tmp_path / "kd")  # fmt: skip
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "5 classes" in lines[0] and "10" in lines[0] and "--alpha 0" in lines[0]
    assert not (tmp_path / "kd").exists()
    # kd reads the teacher's outputs over the data's classes, so it is refused too (with the usual fix)
    r = kdedge("distill", "--teacher", low_digits_teacher, "--data", "digits", "--method", "kd",
               "--out", tmp_path / "kd")  # fmt: skip
    assert r.exit_code == 2 and "use data labelled with the teacher's classes" in r.output
