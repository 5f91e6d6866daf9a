"""Knowledge distillation as a boosting objective: Hinton et al.'s loss on a booster's K raw scores per sample.

    loss = α · T² · KL(q ‖ softmax(F / T)) + (1 − α) · CE(y, softmax(F)),   q = softmax(teacher logits / T)

summed over samples; rows without a label (mixup, MUNGE, pool) take the soft term only. A gradient booster needs
the first and (diagonal) second derivatives in F:

    grad = α · T · (softmax(F / T) − q) + (1 − α) · (softmax(F) − onehot(y))
    hess = c · [α · p_T (1 − p_T) + (1 − α) · p (1 − p)]

with c = K / (K − 1), the factor LightGBM's own multiclass objective uses. The teacher's whole distribution reaches
every tree, where per-class regressors (`--method logits`, `softmax`) fit each class's score on its own.
"""

from __future__ import annotations

import numpy as np


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _onehot(labels: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    known = labels >= 0
    onehot = np.zeros((len(labels), n_classes))
    onehot[np.flatnonzero(known), labels[known]] = 1.0
    return onehot, known.astype(np.float64)[:, None]


def kd_loss(raw: np.ndarray, soft: np.ndarray, labels: np.ndarray, temperature: float, alpha: float) -> float:
    """The summed loss above (what the gradients below descend; tests check it by hand)."""
    raw, soft = np.asarray(raw, np.float64), np.asarray(soft, np.float64)
    onehot, known = _onehot(labels, raw.shape[1])
    log_pt = np.log(_softmax(raw / temperature))
    log_p = np.log(_softmax(raw))
    kl = np.sum(soft * (np.log(np.clip(soft, 1e-300, None)) - log_pt))
    ce = -np.sum(known * onehot * log_p)
    return float(alpha * temperature**2 * kl + (1 - alpha) * ce)


def kd_grad_hess(
    raw: np.ndarray, soft: np.ndarray, labels: np.ndarray, temperature: float, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    raw = np.asarray(raw, np.float64)
    n_classes = raw.shape[1]
    onehot, known = _onehot(labels, n_classes)
    pt, p = _softmax(raw / temperature), _softmax(raw)
    grad = alpha * temperature * (pt - soft) + (1 - alpha) * known * (p - onehot)
    factor = n_classes / (n_classes - 1.0)
    hess = factor * (alpha * pt * (1 - pt) + (1 - alpha) * known * p * (1 - p))
    return grad, np.maximum(hess, 1e-12)  # a leaf's value divides by its summed hessian


def lightgbm_objective(soft: np.ndarray, labels: np.ndarray, temperature: float, alpha: float):
    """A custom objective for lightgbm.train: (raw scores, data) -> (grad, hess), shaped as LightGBM passes them."""
    n, k = soft.shape

    def objective(preds, _data):
        flat = np.ndim(preds) == 1  # LightGBM < 4 passes (K * N,) class-major; 4.x passes (N, K)
        raw = np.reshape(preds, (k, n)).T if flat else preds
        grad, hess = kd_grad_hess(raw, soft, labels, temperature, alpha)
        return (grad.T.ravel(), hess.T.ravel()) if flat else (grad, hess)

    return objective
