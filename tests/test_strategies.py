"""Strategies that compose runs: averaged teachers, assistant chains, any run as a teacher, born-again."""

import json

import numpy as np
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.distillation.strategies import AveragedTeacher
from kdedge.teachers import load_teacher

runner = CliRunner()


def kdedge(*args):
    return runner.invoke(app, [str(a) for a in args])


def manifest(run_dir):
    return json.loads((run_dir / "kdedge.json").read_text())


def test_averaged_teacher_means_the_logits_and_combines_fingerprints(digits, teacher_run, kd_mlp_run):
    a, b = load_teacher(teacher_run.path), load_teacher(kd_mlp_run.path)
    both = AveragedTeacher([a, b])
    x, _ = digits.split("val")
    np.testing.assert_allclose(both.logits(x[:20]), (a.logits(x[:20]) + b.logits(x[:20])) / 2, rtol=1e-6)
    assert both.fingerprint not in (a.fingerprint, b.fingerprint)
    assert [m["fingerprint"] for m in both.describe()["members"]] == [a.fingerprint, b.fingerprint]


def test_distill_from_two_teachers(tmp_path, teacher_run, kd_mlp_run):
    out = tmp_path / "avg"
    r = kdedge("distill", "--teacher", teacher_run.path, "--teacher", kd_mlp_run.path, "--hidden", 16, "--epochs", 3,
               "--out", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    teacher = manifest(out)["teacher"]
    assert teacher["kind"] == "average" and len(teacher["members"]) == 2


def test_any_run_teaches_a_mlp_teaches_a_cnn(tmp_path, kd_mlp_run):
    out = tmp_path / "cnn"
    r = kdedge("distill", "--teacher", kd_mlp_run.path, "--student", "cnn", "--channels", "4,4,4", "--epochs", 3,
               "--out", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    m = manifest(out)
    assert m["family"] == "cnn" and m["teacher"]["family"] == "mlp"
    assert m["teacher"]["fingerprint"] == kd_mlp_run.manifest.weights_sha256


def test_assistant_chain_is_checked_and_recorded(tmp_path, teacher_run, kd_mlp_run):
    out = tmp_path / "chain"
    r = kdedge("distill", "--teacher", teacher_run.path, "--via", kd_mlp_run.path, "--hidden", 16, "--epochs", 3,
               "--out", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    teacher = manifest(out)["teacher"]
    assert teacher["fingerprint"] == kd_mlp_run.manifest.weights_sha256  # taught by the assistant
    assert [link["fingerprint"] for link in teacher["chain"]] == [
        teacher_run.manifest.weights_sha256,
        kd_mlp_run.manifest.weights_sha256,
    ]
    # the chain must be real: the student just made was not distilled from the MLP's teacher's... student
    r = kdedge("distill", "--teacher", kd_mlp_run.path, "--via", kd_mlp_run.path, "--out", tmp_path / "bad")
    assert r.exit_code == 2 and "was not distilled from" in r.output
    assert not (tmp_path / "bad").exists()


def test_born_again_generations_and_their_ensemble(tmp_path, kd_mlp_run):
    out = tmp_path / "ban"
    args = ("distill", "--teacher", kd_mlp_run.path, "--generations", 2, "--epochs", 4, "--out", out)
    r = kdedge(*args)
    assert r.exit_code == 0, r.output
    gen1, gen2 = manifest(out / "gen1"), manifest(out / "gen2")
    assert gen1["family"] == gen2["family"] == "mlp"
    assert gen1["student"]["params"]["hidden"] == kd_mlp_run.manifest.student.params["hidden"]
    assert gen1["teacher"]["fingerprint"] == kd_mlp_run.manifest.weights_sha256
    assert gen2["teacher"]["fingerprint"] == gen1["weights_sha256"]  # each generation taught by the last
    assert gen1["seed"] != gen2["seed"]
    ensemble = manifest(out / "ensemble")
    assert ensemble["family"] == "ensemble" and len(ensemble["student"]["params"]["members"]) == 2

    stamp = (out / "gen1" / "kdedge.json").stat().st_mtime_ns
    r = kdedge(*args)  # rerun: both generations are reused, not retrained
    assert r.exit_code == 0, r.output
    assert "reusing" in r.output and (out / "gen1" / "kdedge.json").stat().st_mtime_ns == stamp
    r = kdedge(*args[:-2], "--temperature", 2, "--out", out)  # other settings: refuse to replace silently
    assert r.exit_code == 2 and "--overwrite" in r.output
