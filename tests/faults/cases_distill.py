"""`kdedge distill`: students, methods, transfer sets and their options refused before training; teachers, assistants,
pools and outputs that cannot be used."""

from __future__ import annotations

import numpy as np

from .kit import Case, digits_x, given, swap_teacher_weights


def _version() -> str:
    from kdedge import __version__

    return __version__


def distill(ws, *extra, out="s"):
    return ["distill", "--teacher", ws.run("teacher"), "--epochs", 1, "--out", ws.root / out, *extra]


def fit(ws, student, *extra):
    """A non-neural student (no --epochs)."""
    return ["distill", "--teacher", ws.run("teacher"), "--student", student, "--out", ws.root / "s", *extra]


def pool(ws, *extra, **arrays):
    return distill(ws, "--transfer", "pool", "--pool", ws.npz("pool.npz", **arrays), *extra)


def checkpoint(ws, key: str, version: str):
    """A checkpoint beside the run `distill` writes, of another command or another kdedge version."""
    ws.file(".s.resume/key.json", f'{{"key": "{key}", "version": "{version}", "parts": {{}}}}')
    ws.file(".s.resume/stage1.pt", b"saved epochs")
    return distill(ws)


def _this_commands_key(ws) -> str:
    """The key `distill(ws)` resumes under (what a kill of that very command would have left)."""
    import kdedge
    from kdedge.distillation import checkpoint, run

    seen = {}
    real = run.resumable

    def spy(out, parts, *args, **kwargs):
        seen["key"] = checkpoint.run_key(parts)
        raise KeyboardInterrupt  # only the key was wanted: stop before training

    run.resumable = spy
    try:
        kdedge.distill(ws.run("teacher"), out=ws.root / "probe", epochs=1)
    except KeyboardInterrupt:
        pass
    finally:
        run.resumable = real
    return seen["key"]


CASES = [
    # -- a checkpoint left by a killed run --------------------------------------------------------------------------
    Case("checkpoint-of-another-command", lambda ws: checkpoint(ws, "0" * 24, _version()), "another command"),
    Case(
        "checkpoint-from-another-version",
        lambda ws: checkpoint(ws, _this_commands_key(ws), "0.0.1"),
        "written by kdedge 0.0.1",
    ),
    # -- student, method, transfer set ------------------------------------------------------------------------------
    Case("student-bogus", lambda ws: distill(ws, "--student", "transformer"), "transformer"),
    Case("method-bogus", lambda ws: distill(ws, "--method", "osmosis"), "osmosis"),
    Case("transfer-bogus", lambda ws: distill(ws, "--transfer", "telepathy"), "telepathy"),
    Case("transfer-view-bogus", lambda ws: distill(ws, "--transfer", "shift+rotate"), "rotate"),
    Case("transfer-size-text", lambda ws: distill(ws, "--transfer", "augment", "--transfer-size", "lots"), "lots"),
    Case("transfer-size-0x", lambda ws: distill(ws, "--transfer", "augment", "--transfer-size", "0x"), "transfer-size"),
    Case(
        "transfer-size-negative",
        lambda ws: distill(ws, "--transfer", "augment", "--transfer-size", "-2x"),
        "transfer-size",
    ),
    Case("option-of-another-transfer", lambda ws: distill(ws, "--munge-p", 0.5), "--munge-p"),
    Case("munge-p-2", lambda ws: distill(ws, "--transfer", "munge", "--munge-p", 2), "munge"),
    Case("max-shift-negative", lambda ws: distill(ws, "--transfer", "shift", "--max-shift", -1), "max"),
    Case("mixup-alpha-0", lambda ws: distill(ws, "--transfer", "mixup", "--mixup-alpha", 0), "mixup"),
    Case("noise-std-negative", lambda ws: distill(ws, "--transfer", "noise", "--noise-std", -1), "noise"),
    Case("teacher-mode-bogus", lambda ws: distill(ws, "--transfer", "shift", "--teacher-mode", "psychic"), "psychic"),
    Case(
        "online-for-a-tree",
        lambda ws: fit(ws, "tree", "--method", "logits", "--transfer", "shift", "--teacher-mode", "online"),
        "online",
    ),
    Case("temperature-0", lambda ws: distill(ws, "--temperature", 0), "temperature"),
    Case("alpha-2", lambda ws: distill(ws, "--alpha", 2), "alpha"),
    Case("hidden-0", lambda ws: distill(ws, "--hidden", "0"), "hidden"),
    Case("hidden-0-in-new-folders", lambda ws: distill(ws, "--hidden", "0", out="new/deeper/s"), "hidden"),
    Case("hidden-negative", lambda ws: distill(ws, "--hidden", "64,-1"), "hidden"),
    Case("hidden-for-a-tree", lambda ws: fit(ws, "tree", "--hidden", 64), "--hidden"),
    Case("svm-kernel-bogus", lambda ws: fit(ws, "svm", "--kernel", "sigmoidal"), "kernel"),
    Case("svm-c-0", lambda ws: fit(ws, "svm", "--C", 0), "C"),
    Case("svm-gamma-text", lambda ws: fit(ws, "svm", "--gamma", "wide"), "gamma"),
    Case("forest-n-estimators-0", lambda ws: fit(ws, "forest", "--n-estimators", 0), "n-estimators"),
    Case("tree-max-depth-0", lambda ws: fit(ws, "tree", "--max-depth", 0), "max-depth"),
    Case("gbdt-num-leaves-1", lambda ws: fit(ws, "gbdt", "--num-leaves", 1), "num-leaves"),
    Case("gbdt-learning-rate-0", lambda ws: fit(ws, "gbdt", "--learning-rate", 0), "learning-rate"),
    Case(
        "fitnet-layer-bogus",
        lambda ws: distill(ws, "--method", "fitnets", "--student", "cnn", "--hint-layer", "no.such.layer"),
        "no.such.layer",
    ),
    Case("generations-0", lambda ws: distill(ws, "--generations", 0), "--generations 0"),
    Case(
        "baseline-with-generations",
        lambda ws: distill(ws, "--generations", 2, "--baseline"),
        "drop it with --generations",
    ),
    Case(
        "out-holds-the-teacher",
        lambda ws: given(
            ws.file("runs/kdedge.json", "{}"),
            ["distill", "--teacher", ws.run("teacher"), "--out", ws.root / "runs", "--overwrite"],
        ),
        "is, or holds",
    ),
    Case("seed-negative", lambda ws: distill(ws, "--seed", -1), "--seed"),
    Case("device-bogus", lambda ws: distill(ws, "--device", "quantum"), "quantum"),
    # -- teachers, assistants, pools, data --------------------------------------------------------------------------
    Case(
        "teacher-missing", lambda ws: ["distill", "--teacher", ws.root / "nowhere", "--out", ws.root / "s"], "nowhere"
    ),
    Case(
        "teacher-empty-folder",
        lambda ws: ["distill", "--teacher", ws.folder("empty"), "--out", ws.root / "s"],
        "not a kdedge run",
    ),
    Case(
        "teacher-weights-swapped",
        lambda ws: ["distill", "--teacher", swap_teacher_weights(ws), "--out", ws.root / "s"],
        "changed since",
    ),
    Case(
        "teacher-onnx-garbage",
        lambda ws: ["distill", "--teacher", ws.file("t.onnx", b"junk"), "--data", "digits", "--out", ws.root / "s"],
        "t.onnx",
    ),
    Case("via-damaged", lambda ws: distill(ws, "--via", ws.truncated("mlp", "weights.safetensors")), "changed since"),
    Case(
        "second-teacher-missing",
        lambda ws: distill(ws, "--teacher", ws.root / "nowhere"),
        "nowhere",
    ),
    Case("via-missing", lambda ws: distill(ws, "--via", ws.root / "nowhere"), "nowhere"),
    Case(
        "pool-missing",
        lambda ws: distill(ws, "--transfer", "pool", "--pool", ws.root / "pool.npz"),
        "does not point to a file",
    ),
    Case("pool-without-file", lambda ws: distill(ws, "--transfer", "pool"), "needs --pool"),
    Case(
        "pool-truncated",
        lambda ws: distill(ws, "--transfer", "pool", "--pool", ws.truncate(ws.npz("pool.npz", x=digits_x(500)))),
        "pool.npz",
    ),
    Case("pool-no-x", lambda ws: pool(ws, inputs=digits_x(50)), "pool.npz"),
    Case("pool-other-shape", lambda ws: pool(ws, x=np.zeros((50, 1, 4, 4), np.float32)), "shape"),
    Case("pool-nan", lambda ws: pool(ws, x=np.full((50, 1, 8, 8), np.nan, np.float32)), "finite"),
    Case("data-other-shape", lambda ws: distill(ws, "--data", "digits-shift"), "shape"),
    Case("cache-dir-a-file", lambda ws: distill(ws, "--cache-dir", ws.file("cache", "mine")), "cache"),
    # -- outputs ----------------------------------------------------------------------------------------------------
    Case(
        "out-existing-run",
        lambda ws: ["distill", "--teacher", ws.run("teacher"), "--out", ws.run("mlp")],
        "already exists",
    ),
    Case(
        "out-overwrite-foreign-folder",
        lambda ws: given(ws.file("photos/cat.jpg", "meow"), distill(ws, "--overwrite", out="photos")),
        "not a kdedge folder",
    ),
    Case(
        "out-overwrite-file",
        lambda ws: given(ws.file("notes.txt", "mine"), distill(ws, "--overwrite", out="notes.txt")),
        "is a file",
    ),
    Case(
        "out-existing-file",
        lambda ws: given(ws.file("notes.txt", "mine"), distill(ws, out="notes.txt")),
        "already exists",
    ),
    Case(
        "out-under-a-file",
        lambda ws: given(ws.file("notes.txt", "mine"), distill(ws, out="notes.txt/s")),
        "is a file",
    ),
    Case(
        "out-is-the-teacher",
        lambda ws: ["distill", "--teacher", ws.run("teacher"), "--out", ws.run("teacher"), "--overwrite"],
        "is, or holds, the --teacher",
    ),
]
