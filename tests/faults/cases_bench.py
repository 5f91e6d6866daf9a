"""`kdedge bench` and `kdedge predict`: graphs and runs that cannot be measured or run, inputs that do not fit, timing
options refused, and outputs that would replace what the user (or a run) owns."""

from __future__ import annotations

import numpy as np

from .kit import FAST_BENCH, Case, digits_x, given, onnx_with_metadata, png


def bench(ws, *extra, run="mlp"):
    return ["bench", ws.run(run), *FAST_BENCH, *extra]


def model(ws, *extra, content=None):
    """`bench --model FILE` of the MLP's graph, or of a file holding `content`."""
    path = ws.run("mlp") / "model.onnx" if content is None else ws.file("m.onnx", content)
    return ["bench", "--model", path, *FAST_BENCH, *extra]


def predict(ws, inputs, *extra):
    return ["predict", ws.run("mlp") / "model.onnx", inputs, *extra]


def x(ws, array=None, name="x.npz"):
    return ws.npz(name, x=digits_x() if array is None else array)


CASES = [
    # -- bench: what is measured ------------------------------------------------------------------------------------
    Case("run-missing", lambda ws: ["bench", ws.root / "nowhere", *FAST_BENCH], "nowhere"),
    Case("run-not-exported", lambda ws: ["bench", ws.without("mlp", "model.onnx"), *FAST_BENCH], "export"),
    Case("run-truncated-onnx", lambda ws: given(ws.truncate(ws.run("mlp") / "model.onnx"), bench(ws)), "model.onnx"),
    Case("nothing-to-measure", lambda ws: ["bench", *FAST_BENCH], "nothing to bench"),
    Case("model-missing", lambda ws: ["bench", "--model", ws.root / "m.onnx", *FAST_BENCH], "m.onnx"),
    Case("model-garbage", lambda ws: model(ws, content=b"not a graph"), "m.onnx"),
    Case("model-empty", lambda ws: model(ws, content=b""), "m.onnx"),
    Case(
        "model-metadata-not-json",
        lambda ws: ["bench", "--model", onnx_with_metadata(ws, "kdedge.class_names", "zero, one"), *FAST_BENCH],
        "class_names",
    ),
    Case("data-other-shape", lambda ws: bench(ws, "--data", "digits-shift"), "shape"),
    Case("data-missing", lambda ws: bench(ws, "--data", ws.root / "d.npz"), "d.npz"),
    Case("teacher-missing", lambda ws: bench(ws, "--teacher", ws.root / "nowhere"), "nowhere"),
    Case(
        "teacher-truncated-onnx",
        lambda ws: bench(ws, "--teacher", ws.truncate(ws.run("teacher") / "model.onnx")),
        "model.onnx",
    ),
    # -- bench: how it is measured ----------------------------------------------------------------------------------
    Case("threads-0", lambda ws: bench(ws, "--threads", 0), "--threads"),
    Case("threads-text", lambda ws: bench(ws, "--threads", "many"), "--threads"),
    Case("batch-0", lambda ws: bench(ws, "--batch", 0), "--batch"),
    Case("batch-text", lambda ws: bench(ws, "--batch", "1,x"), "--batch"),
    Case("min-runs-negative", lambda ws: ["bench", ws.run("mlp"), "--min-runs", -1], "--min-runs -1"),
    Case("min-seconds-negative", lambda ws: ["bench", ws.run("mlp"), "--min-seconds", -1], "--min-seconds -1"),
    Case("min-seconds-nan", lambda ws: ["bench", ws.run("mlp"), "--min-seconds", "nan"], "--min-seconds"),
    Case("columns-bogus", lambda ws: bench(ws, "--columns", "model,vibes"), "vibes"),
    Case("target-unknown", lambda ws: bench(ws, "--target", "gpu-fp64"), "gpu-fp64"),
    Case("target-profile-damaged", lambda ws: bench(ws, "--target", ws.file("p.toml", "precision = [")), "p.toml"),
    # -- bench: where it writes -------------------------------------------------------------------------------------
    Case("json-onto-manifest", lambda ws: bench(ws, "--out", ws.run("mlp") / "kdedge.json"), "kdedge folder"),
    Case(
        "json-onto-graph", lambda ws: bench(ws, "--out", ws.run("mlp") / "model.onnx", "--overwrite"), "kdedge folder"
    ),
    Case("json-new-file-in-run", lambda ws: bench(ws, "--out", ws.run("mlp") / "metrics.json"), "kdedge folder"),
    Case("json-folder", lambda ws: bench(ws, "--out", ws.folder("d")), "is a folder"),
    Case("json-existing", lambda ws: bench(ws, "--out", ws.file("b.json", '{"rows": []}')), "already exists"),
    Case(
        "json-foreign-overwrite",
        lambda ws: bench(ws, "--out", ws.file("b.json", "{}"), "--overwrite"),
        "not written by kdedge",
    ),
    Case(
        "json-under-a-file",
        lambda ws: bench(ws, "--out", ws.file("notes.txt", "mine") / "b.json"),
        "is a file, not a folder",
    ),
    Case("csv-existing", lambda ws: bench(ws, "--csv", ws.file("mine.csv", "a,b\n")), "already exists"),
    Case(
        "csv-foreign-overwrite",
        lambda ws: bench(ws, "--csv", ws.file("mine.csv", "a,b\n"), "--overwrite"),
        "not written by kdedge",
    ),
    Case("csv-folder", lambda ws: bench(ws, "--csv", ws.folder("d")), "is a folder"),
    # -- predict ----------------------------------------------------------------------------------------------------
    Case("predict-model-missing", lambda ws: ["predict", ws.root / "m.onnx", x(ws)], "m.onnx"),
    Case("predict-model-garbage", lambda ws: ["predict", ws.file("m.onnx", b"junk"), x(ws)], "m.onnx"),
    Case(
        "predict-model-truncated",
        lambda ws: ["predict", ws.truncate(ws.run("mlp") / "model.onnx"), x(ws)],
        "model.onnx",
    ),
    Case(
        "predict-metadata-not-json",
        lambda ws: ["predict", onnx_with_metadata(ws, "kdedge.class_names", "zero, one"), x(ws)],
        "class_names",
    ),
    Case("predict-input-missing", lambda ws: predict(ws, ws.root / "x.npz"), "x.npz"),
    Case("predict-input-unknown-suffix", lambda ws: predict(ws, ws.file("x.parquet", b"PAR1")), "x.parquet"),
    Case("predict-npz-no-x", lambda ws: predict(ws, ws.npz("x.npz", inputs=digits_x())), "x.npz"),
    Case("predict-npz-truncated", lambda ws: predict(ws, ws.truncate(x(ws, digits_x(300)))), "x.npz"),
    Case("predict-wrong-shape", lambda ws: predict(ws, x(ws, np.zeros((2, 1, 4, 4)))), "shape"),
    Case("predict-no-rows", lambda ws: predict(ws, x(ws, np.zeros((0, 1, 8, 8)))), "no samples"),
    Case("predict-complex", lambda ws: predict(ws, x(ws, digits_x() * 1j)), "x.npz"),
    Case("predict-strings", lambda ws: predict(ws, x(ws, np.array([[["a"] * 8] * 8] * 2))), "x.npz"),
    Case(
        "predict-npy-pickled",
        lambda ws: predict(ws, ws.npy("x.npy", np.array([{}] * 2, object), allow_pickle=True)),
        "x.npy",
    ),
    Case("predict-binary-csv", lambda ws: predict(ws, ws.file("x.csv", bytes(range(256)) * 4)), "x.csv"),
    Case("predict-csv-columns", lambda ws: predict(ws, ws.file("x.csv", "1,2,3\n4,5,6\n")), "x.csv"),
    Case("predict-image-garbage", lambda ws: predict(ws, ws.file("x.png", b"not a png")), "x.png"),
    Case("predict-image-bomb", lambda ws: predict(ws, ws.file("x.png", png(30000, 30000))), "decompression bomb"),
    Case("predict-image-folder-empty", lambda ws: predict(ws, ws.folder("imgs")), "no images"),
    Case("predict-threads-0", lambda ws: predict(ws, x(ws), "--threads", 0), "--threads 0"),
    Case("predict-threads-negative", lambda ws: predict(ws, x(ws), "--threads", -1), "--threads -1"),
    Case(
        "predict-out-existing", lambda ws: predict(ws, x(ws), "--out", ws.file("mine.csv", "mine\n")), "already exists"
    ),
    Case(
        "predict-out-foreign-overwrite",
        lambda ws: predict(ws, x(ws), "--out", ws.file("mine.csv", "mine\n"), "--overwrite"),
        "not written by kdedge",
    ),
    Case("predict-out-folder", lambda ws: predict(ws, x(ws), "--out", ws.folder("d")), "is a folder"),
    Case(
        "predict-out-onto-graph",
        lambda ws: predict(ws, x(ws), "--out", ws.run("mlp") / "model.onnx", "--overwrite"),
        "kdedge folder",
    ),
    Case(
        "predict-out-under-a-file",
        lambda ws: predict(ws, x(ws), "--out", ws.file("notes.txt", "mine") / "p.csv"),
        "is a file",
    ),
]
