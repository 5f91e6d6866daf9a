"""KD for a booster (`--student gbdt --method kd`): the objective's loss by hand, its derivatives against finite
differences, and the path a user types (distill, export with parity, C)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.distillation.methods import methods_for
from kdedge.students import student_class
from kdedge.students.soft_boosting import kd_grad_hess, kd_loss

STUDENT = [1.0, 2.0, 0.0]  # the same raw scores and teacher logits as the torch KD loss's hand check
TEACHER = [2.0, 0.0, 1.0]


def _softmax(v, t):
    e = [math.exp(x / t) for x in v]
    return [x / sum(e) for x in e]


def test_loss_matches_the_torch_kd_hand_value():
    soft = np.array([_softmax(TEACHER, 2.0)])
    got = kd_loss(np.array([STUDENT]), soft, np.array([0]), temperature=2.0, alpha=0.5)
    assert got == pytest.approx(1.1448318125446475, rel=1e-12)  # tests/test_losses.py's value, by hand


def test_unlabelled_rows_take_the_soft_term_only():
    soft = np.array([_softmax(TEACHER, 1.0)])
    p_s = _softmax(STUDENT, 1.0)
    kl = sum(p * math.log(p / q) for p, q in zip(soft[0], p_s, strict=True))
    got = kd_loss(np.array([STUDENT]), soft, np.array([-1]), temperature=1.0, alpha=0.25)
    assert got == pytest.approx(0.25 * kl, rel=1e-12)


@pytest.mark.parametrize(
    ("temperature", "alpha", "labels"), [(1.0, 1.0, [0, 2]), (3.0, 0.6, [1, -1]), (2.0, 0.0, [2, 0])]
)
def test_gradient_and_hessian_are_the_loss_derivatives(temperature, alpha, labels):
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(2, 4))
    z = rng.normal(size=(2, 4))
    soft = np.exp(z / temperature) / np.exp(z / temperature).sum(1, keepdims=True)
    labels = np.array(labels)
    grad, hess = kd_grad_hess(raw, soft, labels, temperature, alpha)
    h = 1e-5
    for i in range(2):
        for k in range(4):
            up, down = raw.copy(), raw.copy()
            up[i, k] += h
            down[i, k] -= h
            f_up, f_0, f_down = (kd_loss(r, soft, labels, temperature, alpha) for r in (up, raw, down))
            assert grad[i, k] == pytest.approx((f_up - f_down) / (2 * h), abs=1e-6)
            # LightGBM's multiclass factor K / (K - 1) on the exact diagonal second derivative
            assert hess[i, k] == pytest.approx(4 / 3 * (f_up - 2 * f_0 + f_down) / h**2, rel=1e-3, abs=1e-6)


def test_kd_applies_to_the_booster_only_among_non_neural_families():
    assert "kd" in methods_for(student_class("gbdt"))
    assert all("kd" not in methods_for(student_class(f)) for f in ("forest", "svm", "tree"))


def test_gbdt_kd_distills_and_exports_with_parity(teacher_run, tmp_path):
    runner = CliRunner()
    out = tmp_path / "gbdt-kd"
    r = runner.invoke(app, [
        "distill", "--teacher", str(teacher_run.path), "--student", "gbdt", "--method", "kd", "--temperature", "2",
        "--alpha", "0.7", "--n-estimators", "20", "--out", str(out),
    ])  # fmt: skip
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "kdedge.json").read_text())
    assert manifest["method"]["name"] == "kd" and manifest["method"]["temperature"] == 2.0
    assert json.loads((out / "nonneural.json").read_text())["mode"] == "classifier"
    text = (out / "gbdt_0.txt").read_text()
    assert "objective=multiclass num_class:10" in text and "objective: custom" not in text
    r = runner.invoke(app, ["export", str(out)])
    assert r.exit_code == 0 and "labels 100.00%" in r.output, r.output
