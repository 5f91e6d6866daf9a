"""Export a run to ONNX: convert, attach metadata, pass the parity gate, then move into place."""

from __future__ import annotations

import json

from .. import __version__
from .._io import atomic_path
from ..runs import Run, now
from .parity import Tolerance, check_parity

DEFAULT_OPSET = 18
META_PREFIX = "kdedge."


def metadata(run: Run, n_params: int) -> dict[str, str]:
    """metadata_props: enough for an app (and `kdedge bench --model`) to use the graph without the run."""
    m = run.manifest
    data = m["data"]
    return {
        "version": __version__,
        "kind": run.kind,
        "family": run.family,
        "class_names": json.dumps(data["class_names"]),
        "input_shape": json.dumps(["N", *data["sample_shape"]]),
        "input_layout": data["layout"],
        "normalization": json.dumps(data["normalization"]),
        "n_params": str(n_params),
        "source_run": str(run.path.resolve()),
        "teacher": json.dumps(m.get("teacher")),
        "method": json.dumps(m.get("method")),
        "dataset_fingerprint": data["fingerprint"],
    }


def export_run(run_path, opset: int = DEFAULT_OPSET) -> dict:
    """Write RUN/model.onnx if, and only if, it matches the native model on the test split."""
    import onnx

    from ..students import load_student

    run = Run.load(run_path)
    student = load_student(run)
    dataset = run.dataset()
    x_test, _ = dataset.split("test")
    model = student.to_onnx(opset)
    model.producer_name, model.producer_version = "kdedge", __version__
    model.doc_string = (
        f"kdedge {run.kind} '{run.family}': input (N, {', '.join(map(str, student.sample_shape))}) "
        "raw float32 -> scores (N, K) float32, label (N,) int64"
    )
    onnx.helper.set_model_props(model, {META_PREFIX + k: v for k, v in metadata(run, student.n_params).items()})
    onnx.checker.check_model(model)
    model_bytes = model.SerializeToString()
    tolerance = getattr(student, "parity_tolerance", Tolerance())
    parity = check_parity(model_bytes, x_test, student.scores(x_test), tolerance, str(run.onnx_path))
    with atomic_path(run.onnx_path) as tmp:
        tmp.write_bytes(model_bytes)
    info = {"path": str(run.onnx_path), "opset": opset, "bytes": len(model_bytes), "parity": parity, "exported": now()}
    run.update(export=info)
    return info
