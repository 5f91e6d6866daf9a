"""Batch-1 latency of each exported family against its native library, and what kdedge's graph choices move.

Students distilled from the demo's CNN teacher on digits (`kdedge distill` defaults per family, logits for the
non-neural ones), exported with `kdedge export`. Per family: the native model as kdedge calls it (`student.scores`
on one row: torch eager, scikit-learn or LightGBM predict) against onnxruntime on model.onnx (one thread, batch 1,
p50). For LightGBM, also the per-class boosters as K TreeEnsemble nodes side by side (the graph before
`convert/tree_merge.py`) against the merged K-target ensemble. Interleaved, --repeats times: median (min–max).

    KDEDGE_QUIET=1 .venv/bin/python benchmarks/onnx_speed.py --out benchmarks/results/onnx_speed.md
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("KDEDGE_QUIET", "1")

from _report import emit

FAMILIES = {"mlp": {}, "cnn": {}, "resnet": {}, "svm": {}, "forest": {}, "gbdt": {}, "tree": {}}
TIMING = {"min_runs": 200, "min_seconds": 0.3}


def p50_native(student, rows) -> float:
    from kdedge.measure.timing import time_calls

    return time_calls(student.scores, rows, **TIMING)["p50_us"]


def p50_onnx(model_bytes: bytes, rows) -> float:
    from kdedge.measure.latency import make_session
    from kdedge.measure.timing import time_calls

    session = make_session(model_bytes, 1)
    name, outputs = session.get_inputs()[0].name, [o.name for o in session.get_outputs()]
    return time_calls(lambda x: session.run(outputs, {name: x}), rows, **TIMING)["p50_us"]


def side_by_side_graph(student, dataset) -> bytes:
    """The gbdt graph as it was before the merge: K boosters side by side, Concat."""
    from unittest import mock

    from kdedge.convert import lightgbm_onnx
    from kdedge.convert.converters import to_onnx

    with mock.patch.object(lightgbm_onnx, "merge_regressors", lambda *a: None):
        return to_onnx(student, 18).SerializeToString()


def spread(values) -> str:
    v = np.asarray(values, float)
    return f"{np.median(v):.1f} ({v.min():.1f}–{v.max():.1f})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    import kdedge
    from kdedge.runs import Run
    from kdedge.students import load_student

    rows_of: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        kdedge.train_teacher("digits", out=root / "teacher", threads=1)
        kdedge.export(root / "teacher")
        models = {}
        for family, options in FAMILIES.items():
            method = "kd" if family in ("mlp", "cnn", "resnet") else "logits"
            run = kdedge.distill(root / "teacher", out=root / family, student=family, method=method, **options)
            kdedge.export(run.path)
            run = Run.load(run.path)
            student = load_student(run)
            x_test, _ = run.dataset().split("test")
            rows = [np.ascontiguousarray(x_test[i : i + 1], np.float32) for i in range(200)]
            models[family] = (student, run.onnx_path.read_bytes(), rows)
            if family == "gbdt":
                models["gbdt (side by side)"] = (None, side_by_side_graph(student, None), rows)
        for _ in range(args.repeats):
            for name, (student, onnx_bytes, rows) in models.items():
                cell = rows_of.setdefault(name, [])
                cell.append((p50_native(student, rows) if student is not None else None, p50_onnx(onnx_bytes, rows)))
    lines = [
        "# Exported graphs against the native libraries, batch 1",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, one thread; other jobs ran alongside (ratios are "
        f"measured side by side). {args.repeats} interleaved repeats, p50 µs: median (min–max).",
        "",
        "| student | native p50 µs | ONNX p50 µs | native / ONNX |",
        "| --- | --- | --- | --- |",
    ]
    for name, cells in rows_of.items():
        native = [c[0] for c in cells]
        onnx_us = [c[1] for c in cells]
        if native[0] is None:
            lines.append(f"| {name} | — | {spread(onnx_us)} | — |")
            continue
        lines.append(
            f"| {name} | {spread(native)} | {spread(onnx_us)} | {spread(np.asarray(native) / np.asarray(onnx_us))} |"
        )
    lines += ["", f"Run with `KDEDGE_QUIET=1 .venv/bin/python benchmarks/onnx_speed.py --repeats {args.repeats}`."]
    emit("\n".join(lines) + "\n", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
