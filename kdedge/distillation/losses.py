"""Distillation losses on logits. Each takes (student_logits, teacher_logits, labels) and returns a scalar."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kd_loss(student_logits, teacher_logits, labels, temperature: float, alpha: float):
    """Hinton et al.: T² · α · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α) · CE(s, y).

    The KL runs from the *teacher's* soft targets to the student's (F.kl_div takes the student's log-probs as
    input and the teacher's probabilities as target). T² keeps the soft term's gradients on the scale of the
    hard term's as T grows. Samples without a label (y < 0, e.g. from an unlabeled pool) get the soft term only.
    """
    soft = F.kl_div(
        F.log_softmax(student_logits / temperature, dim=1),
        F.log_softmax(teacher_logits / temperature, dim=1),
        reduction="batchmean",
        log_target=True,
    )
    loss = alpha * temperature**2 * soft
    if alpha < 1.0:
        loss = loss + (1.0 - alpha) * hard_loss(student_logits, labels)
    return loss


def hard_loss(student_logits, labels):
    """Cross-entropy on labels; unlabeled samples (y < 0) are ignored."""
    labelled = labels >= 0
    if not bool(labelled.any()):
        return student_logits.sum() * 0.0
    return F.cross_entropy(student_logits[labelled], labels[labelled])


def logit_mse(student_logits, teacher_logits):
    """Ba & Caruana: regress the teacher's logits (mean squared error over samples and classes)."""
    return F.mse_loss(student_logits, teacher_logits)


def softmax_with_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    return torch.softmax(logits / temperature, dim=1)
