"""`kdedge export RUN --target web`: RUN/web/ — the graph(s), model.json (what the page needs, from the graph's
metadata), index.html + app.js running the student with onnxruntime-web, and the runtime itself in ort/ when npm
can fetch it. Where Chromium is installed, the page is run headless on test samples and its labels and scores are
checked against onnxruntime's on the same graph."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np

from ...runs import Run
from ..parity import compare_outputs, run_onnx
from . import web_runtime
from .browser import chromium, run_page
from .folder import app_sources, write_app_folder

CHECK_SAMPLES = 200  # test rows the page runs at export: enough to see a mismatch, a few seconds in the browser
PAGE_FILES = ("index.html", "app.js")


def export_web(run: Run, student, profile) -> dict:
    import tempfile

    sources = app_sources(run, profile)
    dataset = run.dataset()
    x_test, y_test = dataset.split("test")
    files = {f"{stem}.onnx": path.read_bytes() for stem, path in sources}
    files["model.json"] = page_info(run, sources, dataset, profile.graph_optimization).encode()
    static = resources.files(__package__) / "static"
    files.update({name: (static / name).read_bytes() for name in PAGE_FILES})
    runtime = web_runtime.runtime_files()
    if runtime:
        files.update({f"ort/{name}": data for name, data in runtime.items()})
    record = {
        "target": profile.name,
        "runtime": f"onnxruntime-web {web_runtime.ORT_WEB_VERSION} ("
        + ("bundled in ort/" if runtime else f"from {web_runtime.CDN}: npm was not found to bundle it")
        + ")",
        "sources": {f"{stem}.onnx": path.name for stem, path in sources},
        "parity": {},
        "check": None,
    }
    if chromium() is None or not runtime:
        record["check"] = "not run in a browser: " + ("chromium not found" if runtime else "no bundled runtime")
    else:
        with tempfile.TemporaryDirectory(prefix="kdedge-web-") as tmp:
            for name, data in files.items():
                (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
                (Path(tmp) / name).write_bytes(data)
            x, y = x_test[:CHECK_SAMPLES], y_test[:CHECK_SAMPLES]
            for stem, path in sources:
                record["parity"][f"{stem}.onnx"] = page_parity(
                    run, Path(tmp), path, (x, y), student.parity_tolerance, profile.graph_optimization
                )
        record["check"] = f"run in headless chromium on {len(x)} test samples"
    return write_app_folder(run, profile.format, files, record)


def page_parity(run: Run, folder: Path, graph: Path, test, tolerance, level: str) -> dict:
    """The page's labels and scores against onnxruntime's on the same graph at the same optimization level (the
    page asks onnxruntime-web for it; int8 QDQ pairs are fused into int8 kernels only above "basic")."""
    x, y = test
    page = run_page(folder, x, model=graph.name)
    ref_scores, ref_labels = run_onnx(graph.read_bytes(), x, optimization=level)
    labels = np.asarray(page["labels"])
    gate = compare_outputs(
        np.asarray(page["scores"], np.float32),
        labels,
        ref_scores,
        ref_labels,
        tolerance,
        f"{run.path}: the web page's {graph.name} in chromium",
        "onnxruntime on the same graph",
        "web/ folder",
    )
    return {"test_accuracy": float(np.mean(labels == y)), **gate}


def page_info(run: Run, sources, dataset, level: str) -> str:
    """model.json: the graph's input name and sample dims, the classes and score kind from its metadata, and the
    raw value range of the training split (for turning an image's 0-255 pixels into what the model was fed)."""
    import onnx

    model = onnx.load(str(sources[0][1]))
    meta = {p.key.removeprefix("kdedge."): p.value for p in model.metadata_props}
    graph_input = model.graph.input[0]
    dims = [d.dim_value for d in graph_input.type.tensor_type.shape.dim][1:]
    x_train = dataset.split("train")[0]
    info = {
        "run": run.name,
        "family": run.family,
        "models": [f"{stem}.onnx" for stem, _ in sources],
        "input_name": graph_input.name,
        "input_dims": dims,
        "layout": meta.get("input_layout", run.manifest.data.layout),
        "class_names": json.loads(meta["class_names"]),
        "scores": meta.get("scores", "logits"),
        "input_range": [float(np.min(x_train)), float(np.max(x_train))],
        "graph_optimization": level,  # onnxruntime-web's graphOptimizationLevel names are the profile's
        "runtime_version": web_runtime.ORT_WEB_VERSION,
        "runtime_cdn": web_runtime.CDN,
    }
    return json.dumps(info, indent=1) + "\n"
