"""Accuracy and agreement from an ONNX graph's outputs on a data split."""

from __future__ import annotations

import numpy as np

from .latency import make_session


def predict(
    model_path: str, x: np.ndarray, threads: int = 1, batch_size: int = 1024, optimization: str = "all"
) -> tuple[np.ndarray, np.ndarray]:
    from ..onnx_run import run_batched

    session = make_session(str(model_path), threads, optimization=optimization)
    scores, labels = run_batched(session, ["scores", "label"], x, batch_size=batch_size)
    return scores, labels


def accuracy(labels: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(labels == y))


def agreement(labels: np.ndarray, teacher_labels: np.ndarray) -> float:
    return float(np.mean(labels == teacher_labels))


def kl_teacher_student(scores: np.ndarray, teacher_scores: np.ndarray) -> float:
    """Mean KL(softmax(teacher) ‖ softmax(student)) in nats, both scores being logits."""

    def log_softmax(z):
        z = np.asarray(z, np.float64)
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    log_p, log_q = log_softmax(teacher_scores), log_softmax(scores)
    return float(np.mean(np.sum(np.exp(log_p) * (log_p - log_q), axis=1)))
