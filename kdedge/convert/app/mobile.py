"""`kdedge export RUN --target mobile`: RUN/mobile/model.ort (and model.int8.ort where the int8 graph was kept),
required_operators.config for a reduced ONNX Runtime Mobile build, and a usage note; each .ort file checked
against the graph it came from on the test split, and onnxruntime's mobile usability check summed up in one line."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ...runs import Run
from ..parity import compare_outputs, run_onnx
from .folder import app_sources, write_app_folder
from .ort_convert import convert


def export_mobile(run: Run, student, profile) -> dict:
    import onnxruntime

    sources = app_sources(run, profile)
    x_test, y_test = run.dataset().split("test")
    with tempfile.TemporaryDirectory(prefix="kdedge-mobile-") as tmp:
        src, out = Path(tmp) / "onnx", Path(tmp) / "ort"
        src.mkdir()
        for stem, path in sources:
            shutil.copyfile(path, src / f"{stem}.onnx")
        converted, config = convert(src, out, profile.graph_optimization)
        level = profile.graph_optimization
        parity = {
            f"{stem}.ort": ort_parity(converted[stem], path, (x_test, y_test), student.parity_tolerance, run, level)
            for stem, path in sources
        }
        files = {p.name: p.read_bytes() for p in (*converted.values(), config)}
    verdict = mobile_usability(sources[0][1])
    files["README.md"] = usage_note(run, files, config.name, verdict).encode()
    record = {
        "target": profile.name,
        "runtime": f"onnxruntime {onnxruntime.__version__} (ORT format, {profile.graph_optimization} optimizations)",
        "parity": parity,
        "check": verdict,
        "sources": {f"{stem}.ort": path.name for stem, path in sources},
    }
    return write_app_folder(run, profile.format, files, record)


def ort_parity(ort_file: Path, onnx_file: Path, test, tolerance, run: Run, level: str) -> dict:
    """The .ort file's scores and labels against the .onnx graph's run at the same optimization level (an int8
    graph's QDQ pairs are fused into int8 kernels only above "basic", so the .ort file keeps them as written), and
    its test accuracy: a phone runs the .ort file as it is."""
    x, y = test
    ort_scores, ort_labels = run_onnx(str(ort_file), x)
    ref_scores, ref_labels = run_onnx(onnx_file.read_bytes(), x, optimization=level)
    return {
        "test_accuracy": float(np.mean(ort_labels == y)),
        **_gate(ort_file, onnx_file, ort_scores, ort_labels, ref_scores, ref_labels, tolerance, run),
    }


def _gate(ort_file, onnx_file, ort_scores, ort_labels, ref_scores, ref_labels, tolerance, run) -> dict:
    return compare_outputs(
        ort_scores,
        ort_labels,
        ref_scores,
        np.asarray(ref_labels),
        tolerance,
        f"{run.path}: {ort_file.name}",
        f"the ONNX graph {onnx_file.name}",
        "mobile/ folder",
    )


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


# the checker's own verdict line per execution provider: "Model should perform well with NNAPI as is: YES"
_VERDICT = "Model should perform well with "


def mobile_usability(onnx_file: Path) -> str:
    """onnxruntime.tools.check_onnx_model_mobile_usability on the graph, as one line: which mobile execution
    providers (NNAPI on Android, CoreML on iOS) it says could take the model, else the CPU EP."""
    from onnxruntime.tools.mobile_helpers import usability_checker

    logger = logging.getLogger("kdedge.mobile_usability")
    logger.propagate = False
    handler = _Lines()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        helps = usability_checker.analyze_model(onnx_file, skip_optimize=False, logger=logger)
    except Exception as exc:  # advisory: its shape inference fails on some converted graphs (LightGBM's Mul)
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        failed = f"{type(exc).__name__}: {first}"
        return f"onnxruntime mobile usability: not analyzed, the checker failed on this graph ({failed})"
    finally:
        logger.removeHandler(handler)
    as_is, fixed = [], []
    for line in handler.lines:
        if line.startswith(_VERDICT) and line.endswith(": YES"):
            ep, _, _ = line[len(_VERDICT) :].partition(" as is")
            fixed_shapes = " if modified to have fixed input shapes" in line
            (fixed if fixed_shapes else as_is).append(ep.split(" if modified")[0])
    lead = "NNAPI/CoreML may help, compare with the CPU EP" if helps else "the CPU EP is the one to use"
    parts = [
        f"{', '.join(as_is)} as is" if as_is else "",
        f"{', '.join(fixed)} with fixed input shapes" if fixed else "",
    ]
    taken = "; ".join(p for p in parts if p) or "no NNAPI or CoreML partition"
    return f"onnxruntime mobile usability: {lead} ({taken})"


def usage_note(run: Run, files: dict[str, bytes], config_name: str, verdict: str) -> str:
    sizes = "\n".join(f"- `{name}`: {len(data) / 1024:.1f} KB" for name, data in sorted(files.items()))
    data = run.manifest.data
    return f"""# {run.name}: ONNX Runtime Mobile

{sizes}

Input `input`: float32 of shape (N, {", ".join(map(str, data.sample_shape))}), raw values as in the training data
(the graph normalizes them itself); outputs `scores` (N, {data.n_classes}) and `label` (N,). Classes:
{", ".join(data.class_names)}.

- Android (Kotlin/Java, package `com.microsoft.onnxruntime:onnxruntime-android`) and iOS (pod `onnxruntime-c` or
  `onnxruntime-objc`): create an `OrtSession` / `ORTSession` from `model.ort` as from an .onnx file.
- A reduced build with only the operators this model needs: `{config_name}` is onnxruntime's operator config;
  build onnxruntime with `./build.sh --minimal_build --include_ops_by_config {config_name}` (see onnxruntime's
  "Custom build" docs).

{verdict}
"""
