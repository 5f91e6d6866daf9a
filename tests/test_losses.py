"""Losses checked against values computed by hand (not by the code under test)."""

import math

import pytest
import torch

from kdedge.distillation.losses import hard_loss, kd_loss, logit_mse
from kdedge.distillation.methods import make_method
from kdedge.errors import OptionError

STUDENT = [1.0, 2.0, 0.0]
TEACHER = [2.0, 0.0, 1.0]


def _softmax(v, T):
    e = [math.exp(x / T) for x in v]
    return [x / sum(e) for x in e]


def test_kd_loss_matches_hand_computation():
    # KL(p_t || p_s) at T=2 by hand: p_t = softmax([1, 0, .5]), p_s = softmax([.5, 1, 0]).
    p_t, p_s = _softmax(TEACHER, 2.0), _softmax(STUDENT, 2.0)
    kl = sum(p * math.log(p / q) for p, q in zip(p_t, p_s, strict=True))
    ce = -math.log(_softmax(STUDENT, 1.0)[0])
    expected = 2.0**2 * 0.5 * kl + 0.5 * ce
    assert expected == pytest.approx(1.1448318125446475, rel=1e-12)  # the same figure, written down once

    got = kd_loss(torch.tensor([STUDENT]), torch.tensor([TEACHER]), torch.tensor([0]), temperature=2.0, alpha=0.5)
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_kd_loss_is_not_symmetric_in_teacher_and_student():
    # A published KD loss swapped the two; KL is asymmetric, so the swap changes the value.
    right = kd_loss(torch.tensor([STUDENT]), torch.tensor([TEACHER]), torch.tensor([0]), 2.0, 1.0)
    swapped = kd_loss(torch.tensor([TEACHER]), torch.tensor([STUDENT]), torch.tensor([0]), 2.0, 1.0)
    p_t, p_s = _softmax(TEACHER, 2.0), _softmax(STUDENT, 2.0)
    assert float(right) == pytest.approx(4 * sum(p * math.log(p / q) for p, q in zip(p_t, p_s, strict=True)), rel=1e-6)
    assert abs(float(right) - float(swapped)) > 1e-3


def test_kd_loss_ignores_unlabelled_rows_in_the_hard_term():
    s, t = torch.tensor([STUDENT, STUDENT]), torch.tensor([TEACHER, TEACHER])
    both = kd_loss(s, t, torch.tensor([0, -1]), 2.0, 0.5)
    one = kd_loss(s[:1], t[:1], torch.tensor([0]), 2.0, 0.5)
    assert float(both) == pytest.approx(float(one), rel=1e-6)


def test_logit_mse_and_hard_loss_by_hand():
    expected_mse = sum((a - b) ** 2 for a, b in zip(STUDENT, TEACHER, strict=True)) / 3
    assert float(logit_mse(torch.tensor([STUDENT]), torch.tensor([TEACHER]))) == pytest.approx(expected_mse)
    assert float(hard_loss(torch.tensor([STUDENT]), torch.tensor([1]))) == pytest.approx(
        -math.log(_softmax(STUDENT, 1.0)[1]), rel=1e-6
    )
    # the mean runs over labelled rows only, and a batch without labels contributes 0 (not NaN)
    mixed = hard_loss(torch.tensor([STUDENT, TEACHER]), torch.tensor([1, -1]))
    assert float(mixed) == pytest.approx(-math.log(_softmax(STUDENT, 1.0)[1]), rel=1e-6)
    none = torch.tensor([STUDENT], requires_grad=True)
    loss = hard_loss(none, torch.tensor([-1]))
    loss.backward()
    assert float(loss.detach()) == 0.0 and float(none.grad.abs().sum()) == 0.0


def test_kd_gradient_is_the_closed_form():
    """d/ds of T²·KL(softmax(t/T) ‖ softmax(s/T)), batch mean, is T·(softmax(s/T) − softmax(t/T)) / N."""
    s = torch.tensor([STUDENT, TEACHER], requires_grad=True)
    t = torch.tensor([TEACHER, STUDENT])
    kd_loss(s, t, torch.tensor([0, 1]), 2.0, 1.0).backward()
    expected = 2.0 * (torch.softmax(s.detach() / 2.0, 1) - torch.softmax(t / 2.0, 1)) / 2
    torch.testing.assert_close(s.grad, expected)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("kd", {"temperature": 0}, "--temperature"),
        ("kd", {"alpha": 1.5}, "--alpha"),
        ("hard", {"temperature": 4}, "does not apply to --method hard"),
        ("nope", {}, "unknown --method 'nope'"),
    ],
)
def test_bad_method_options_name_the_option(name, options, message):
    with pytest.raises(OptionError, match=message):
        make_method(name, **options)


def test_label_smoothing_by_hand():
    """ε = 0.1 over K = 3: target (1 − ε)·onehot + ε/3, so the loss is −Σ_k target_k · log p_k; unlabelled rows
    (y = −1) still count nothing, smoothing term included."""
    p = _softmax(STUDENT, 1.0)
    target = [0.1 / 3, 0.9 + 0.1 / 3, 0.1 / 3]
    expected = -sum(t * math.log(q) for t, q in zip(target, p, strict=True))
    assert expected == pytest.approx(0.5076059, rel=1e-6)
    got = hard_loss(torch.tensor([STUDENT, TEACHER]), torch.tensor([1, -1]), label_smoothing=0.1)
    assert float(got) == pytest.approx(expected, rel=1e-6)
    assert make_method("hard", label_smoothing=0.1).loss(torch.tensor([STUDENT]), None, torch.tensor([1])).item() == (
        pytest.approx(expected, rel=1e-6)
    )
