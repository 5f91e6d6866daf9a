"""Distillation losses on logits. Each takes (student_logits, teacher_logits, labels) and returns a scalar."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kd_loss(student_logits, teacher_logits, labels, temperature: float, alpha: float):
    """Hinton et al.: T² · α · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α) · CE(s, y).

    The KL runs from the *teacher's* soft targets to the student's. T² keeps the soft term's gradients on the scale
    of the hard term's as T grows. Samples without a label (y < 0, e.g. from an unlabeled pool) get the soft term
    only. The teacher's side needs no gradient, so it is computed outside autograd: on a small student the loss
    costs as much as the model, and every op kept out of the graph shortens the step.
    """
    with torch.no_grad():
        log_p_teacher = F.log_softmax(teacher_logits / temperature, dim=1)
        p_teacher = log_p_teacher.exp()
        teacher_term = (p_teacher * log_p_teacher).sum()
    cross = (p_teacher * F.log_softmax(student_logits / temperature, dim=1)).sum()
    soft = (teacher_term - cross) / len(student_logits)  # batch mean of KL(p_teacher ‖ p_student)
    loss = alpha * temperature**2 * soft
    if alpha < 1.0:
        loss = loss + (1.0 - alpha) * hard_loss(student_logits, labels)
    return loss


def hard_loss(student_logits, labels, label_smoothing: float = 0.0):
    """Cross-entropy on labels, averaged over the labelled samples; unlabeled ones (y < 0) are ignored. A sum over
    ignore_index divided by the count: no boolean indexing and no host sync per step, and 0 (not NaN) for a batch
    with no labels. `label_smoothing` ε: the target is (1 − ε) on the label plus ε/K on every class (Szegedy et al.
    2016), which keeps a long-trained teacher's logits from growing without bound."""
    total = F.cross_entropy(
        student_logits, labels.clamp(min=-1), ignore_index=-1, reduction="sum", label_smoothing=label_smoothing
    )
    return total / (labels >= 0).sum().clamp(min=1)


def logit_mse(student_logits, teacher_logits):
    """Ba & Caruana: regress the teacher's logits (mean squared error over samples and classes)."""
    return F.mse_loss(student_logits, teacher_logits)


def softmax_with_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    return torch.softmax(logits / temperature, dim=1)
