"""int8 quantization with onnxruntime.quantization, and the accuracy check that decides whether to keep it.

Each precision is one registered function from an fp32 graph to an int8 graph:
- int8-dynamic: int8 weights, activations quantized per call (no calibration); suits MLPs (MatMul/Gemm).
- int8-static: QDQ with int8 activations and weights (S8S8, per-channel weights), activation ranges calibrated
  on samples of the run's train (transfer) split; suits CNNs, whose Conv layers then run in int8.
Both start from `quant_pre_process` (shape inference + graph cleanup, what onnxruntime recommends).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_dynamic,
    quantize_static,
)

from ..errors import ExportError
from .parity import run_onnx

# precision -> quantizer(pre-processed fp32 path, output path, calibration inputs or None)
QUANTIZERS: dict[str, Callable[[Path, Path, np.ndarray | None], str]] = {}


def quantizer(precision: str):
    def register(fn):
        QUANTIZERS[precision] = fn
        return fn

    return register


def quantizable(student) -> bool:
    """A family says so with a `quantizable` class attribute; by default only neural students are.

    Neural graphs carry their weights in MatMul, Gemm and Conv tensors, which int8 quantization works on. Tree
    ensembles and SVMs are single ai.onnx.ml operators with thresholds and support vectors inside:
    onnxruntime.quantization leaves them untouched, so they stay fp32.
    """
    return bool(type(student).quantizable)


class CalibrationReader(CalibrationDataReader):
    """Feeds calibration batches to onnxruntime's calibrator."""

    def __init__(self, x: np.ndarray, batch_size: int = 32):
        self._batches = iter(
            [{"input": np.ascontiguousarray(x[i : i + batch_size], np.float32)} for i in range(0, len(x), batch_size)]
        )

    def get_next(self):
        return next(self._batches, None)


def calibration_samples(x_train: np.ndarray, size: int, seed: int) -> np.ndarray:
    """`size` train samples drawn without replacement, the same ones for the same seed."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(x_train), size=min(size, len(x_train)), replace=False))
    return x_train[idx]


@quantizer("int8-dynamic")
def _dynamic(source: Path, target: Path, calibration: np.ndarray | None) -> str:
    quantize_dynamic(source, target, weight_type=QuantType.QInt8)
    return "dynamic: int8 weights, activations quantized per call"


@quantizer("int8-static")
def _static(source: Path, target: Path, calibration: np.ndarray | None) -> str:
    quantize_static(
        source,
        target,
        CalibrationReader(calibration),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        calibrate_method=CalibrationMethod.MinMax,
    )
    return f"static QDQ S8S8, per-channel weights, MinMax ranges from {len(calibration)} train samples"


def quantize(model_bytes: bytes, precision: str, calibration: np.ndarray | None) -> tuple[bytes, str]:
    """(int8 graph bytes, one-line description of the scheme). Metadata is carried over from the fp32 graph."""
    if precision not in QUANTIZERS:
        raise ExportError(f"no quantizer for precision {precision!r}; choose from {', '.join(sorted(QUANTIZERS))}")
    with tempfile.TemporaryDirectory(prefix="kdedge-quant-") as tmp:
        fp32, pre, out = Path(tmp, "fp32.onnx"), Path(tmp, "pre.onnx"), Path(tmp, "int8.onnx")
        fp32.write_bytes(model_bytes)
        quant_pre_process(fp32, pre)
        scheme = QUANTIZERS[precision](pre, out, calibration)
        model = onnx.load(str(out))
    _drop_unused_domains(model)
    source = onnx.load_from_string(model_bytes)
    onnx.helper.set_model_props(model, {p.key: p.value for p in source.metadata_props})
    model.producer_name, model.producer_version, model.doc_string = (
        source.producer_name,
        source.producer_version,
        source.doc_string,
    )
    onnx.checker.check_model(model)
    return model.SerializeToString(), scheme


def _drop_unused_domains(model) -> None:
    """The pre-processor's optimizer declares every onnxruntime domain; keep only those the graph uses."""
    used = {node.domain for node in model.graph.node} | {""}
    kept = [o for o in model.opset_import if o.domain in used]
    del model.opset_import[:]
    model.opset_import.extend(kept)


def compare(fp32_bytes: bytes, int8_bytes: bytes, x: np.ndarray, y: np.ndarray, budget_points: float) -> dict:
    """Test-split accuracy of both graphs, their agreement, and whether the drop fits the budget."""
    return accuracy_figures(run_onnx(fp32_bytes, x), run_onnx(int8_bytes, x), y, budget_points)


def accuracy_figures(fp32_out, int8_out, y: np.ndarray, budget_points: float) -> dict:
    """The same figures from (scores, labels) of an fp32 model and of its int8 version (a graph or C)."""
    (fp32_scores, fp32_labels), (int8_scores, int8_labels) = fp32_out, int8_out
    fp32_acc, int8_acc = float(np.mean(fp32_labels == y)), float(np.mean(int8_labels == y))
    drop = 100 * (fp32_acc - int8_acc)
    return {
        "samples": int(len(y)),
        "fp32_accuracy": fp32_acc,
        "int8_accuracy": int8_acc,
        "accuracy_drop_points": drop,
        "agreement_with_fp32": float(np.mean(int8_labels == fp32_labels)),
        "max_abs_score_diff": float(np.max(np.abs(int8_scores - fp32_scores))),
        "budget_points": budget_points,
        "within_budget": bool(drop <= budget_points + 1e-9),
    }


def compare_speed(
    fp32_path: Path, int8_bytes: bytes, x: np.ndarray, threads: int = 1, optimization: str = "all", rounds: int = 3
) -> dict:
    """Batch-1 p50 of both graphs on this machine, measured in alternating rounds (so a burst of load hits both),
    each the median over rounds; `faster` when int8's is below fp32's."""
    from ..measure.latency import measure_latency

    samples = x[:256]
    timing = {"warmup_runs": 5, "warmup_seconds": 0.05, "min_runs": 50, "min_seconds": 0.25, "fresh_sessions": 1}
    p50 = {"fp32": [], "int8": []}
    with tempfile.TemporaryDirectory(prefix="kdedge-int8-speed-") as tmp:
        int8_path = Path(tmp, "int8.onnx")
        int8_path.write_bytes(int8_bytes)
        for _ in range(rounds):
            for name, path in (("fp32", fp32_path), ("int8", int8_path)):
                lat = measure_latency(path, samples, threads, optimization=optimization, **timing)
                p50[name].append(lat["p50_us"])
    fp32_us, int8_us = float(np.median(p50["fp32"])), float(np.median(p50["int8"]))
    return {
        "batch": 1,
        "threads": threads,
        "rounds": rounds,
        "fp32_p50_us": fp32_us,
        "int8_p50_us": int8_us,
        "faster": int8_us < fp32_us,
    }


def has_conv(model) -> bool:
    return any(n.op_type == "Conv" for n in model.graph.node)
