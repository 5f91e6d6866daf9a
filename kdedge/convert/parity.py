"""The parity gate: an exported graph must reproduce the native model on the test split."""

from __future__ import annotations

import numpy as np

from ..errors import ExportError
from ..onnx_run import run_batched
from ..students.base import Tolerance  # students declare their tolerance; the gate applies it


def run_onnx(
    model_bytes: bytes | str, x: np.ndarray, threads: int = 1, optimization: str = "all"
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, labels) of a graph (bytes, or the path of an .onnx or .ort file) at a profile's optimization level."""
    import onnxruntime as ort

    from ..measure.latency import OPTIMIZATION_LEVELS

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPTIMIZATION_LEVELS[optimization])
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    scores, label = run_batched(session, ["scores", "label"], x)
    return scores, label


def check_parity(model_bytes: bytes, x: np.ndarray, native_scores: np.ndarray, tol: Tolerance, what: str) -> dict:
    """Raise ExportError unless ONNX scores and labels match the native model's within `tol`."""
    scores, labels = run_onnx(model_bytes, x)
    native_scores = np.asarray(native_scores, np.float32)
    return compare_outputs(
        scores,
        labels,
        native_scores,
        native_scores.argmax(1),
        tol,
        f"{what}: ONNX graph",
        "the native model",
        "model.onnx",
    )


def compare_outputs(scores, labels, ref_scores, ref_labels, tol: Tolerance, what: str, against: str, artifact: str):
    """The gate itself: `scores` within rtol/atol of `ref_scores`, labels agreeing on min_label_agreement.
    `what` does not match `against` -> ExportError saying no `artifact` was written."""
    ref_scores = np.asarray(ref_scores, np.float32)
    if scores.shape != ref_scores.shape:
        raise ExportError(f"{what}: scores have shape {scores.shape}, the reference {ref_scores.shape}")
    diff = np.abs(scores - ref_scores)
    max_abs = float(diff.max())
    within = np.all(diff <= tol.atol + tol.rtol * np.abs(ref_scores))
    agreement = float(np.mean(np.asarray(labels) == np.asarray(ref_labels)))
    report = {
        "samples": int(len(scores)),
        "max_abs_diff": max_abs,
        "label_agreement": agreement,
        "rtol": tol.rtol,
        "atol": tol.atol,
        "min_label_agreement": tol.min_label_agreement,
    }
    if not within or agreement < tol.min_label_agreement:
        raise ExportError(
            f"{what} does not match {against} on {len(scores)} test samples "
            f"(max abs diff {max_abs:.3g}, label agreement {agreement:.4%}; allowed rtol {tol.rtol}, atol {tol.atol}, "
            f"agreement >= {tol.min_label_agreement:.1%}); no {artifact} written — please report this as a bug"
        )
    return report
