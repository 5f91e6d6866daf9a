"""`kdedge teacher train | eval | layers`: training options refused before any epoch, and every kind of teacher file
(runs, ONNX, TorchScript, weights + factory) that is missing, damaged or not what it claims."""

from __future__ import annotations

from .kit import Case


def train(ws, *extra):
    return ["teacher", "train", "--epochs", 1, "--out", ws.root / "t", *extra]


def evaluate(ws, teacher, *extra):
    return ["teacher", "eval", teacher, "--min-runs", 1, "--min-seconds", 0, *extra]


def weights(ws, content: bytes = b"x", name: str = "w.safetensors"):
    return ws.file(name, content)


def factory(ws, source: str, fn: str = "build") -> str:
    """A --factory naming a file of the user's code (`source`)."""
    return f"{ws.file('f.py', source)}:{fn}"


def with_factory(ws, source: str, fn: str = "build", content: bytes = b"x"):
    """`teacher eval` of a weights file built by `--factory` (the user's `source`)."""
    return evaluate(ws, weights(ws, content), "--factory", factory(ws, source, fn), "--data", "digits")


def pth(ws, content: bytes):
    """`teacher eval` of a torch .pth file holding `content`, with a factory that builds a small net."""
    return evaluate(ws, ws.file("w.pth", content), "--factory", factory(ws, TINY_NET), "--data", "digits")


NOT_A_MODULE = "def build():\n    return 42\n"
TINY_NET = "import torch\n\ndef build():\n    return torch.nn.Linear(64, 10)\n"

CASES = [
    # -- train: options refused before any epoch --------------------------------------------------------------------
    Case("train-arch-bogus", lambda ws: train(ws, "--arch", "transformer"), "transformer"),
    Case("train-epochs-0", lambda ws: train(ws, "--epochs", 0), "epochs"),
    Case("train-epochs-negative", lambda ws: train(ws, "--epochs", -3), "epochs"),
    Case("train-lr-negative", lambda ws: train(ws, "--lr", -0.1), "lr"),
    Case("train-batch-size-0", lambda ws: train(ws, "--batch-size", 0), "batch"),
    Case("train-patience-negative", lambda ws: train(ws, "--patience", -1), "patience"),
    Case("train-schedule-bogus", lambda ws: train(ws, "--schedule", "sometimes"), "schedule"),
    Case("train-select-by-bogus", lambda ws: train(ws, "--select-by", "vibes"), "select"),
    Case("train-channels-0", lambda ws: train(ws, "--channels", "0,8"), "channels"),
    Case("train-channels-text", lambda ws: train(ws, "--channels", "a,b"), "channels"),
    Case("train-hidden-for-cnn", lambda ws: train(ws, "--hidden", 64), "hidden"),
    Case("train-resnet-depth-7", lambda ws: train(ws, "--arch", "resnet", "--depth", 7), "depth"),
    Case("train-device-bogus", lambda ws: train(ws, "--device", "tpu"), "tpu"),
    Case("train-device-cuda-absent", lambda ws: train(ws, "--device", "cuda:3"), "cuda"),
    Case("train-out-under-a-file", lambda ws: train(ws, "--out", ws.file("notes.txt", "mine") / "t"), "is a file"),
    Case("train-out-existing-run", lambda ws: train(ws, "--out", ws.run("teacher")), "already exists"),
    Case(
        "train-overwrite-foreign",
        lambda ws: train(ws, "--out", ws.file("photos/cat.jpg", "meow").parent, "--overwrite"),
        "not a kdedge folder",
    ),
    # -- eval: teachers that are not there, or not what they claim --------------------------------------------------
    Case("eval-missing", lambda ws: evaluate(ws, ws.root / "nowhere"), "nowhere"),
    Case("eval-empty-folder", lambda ws: evaluate(ws, ws.folder("empty")), "not a kdedge run"),
    Case("eval-onnx-garbage", lambda ws: evaluate(ws, ws.file("t.onnx", b"not a graph"), "--data", "digits"), "t.onnx"),
    Case(
        "eval-torchscript-garbage", lambda ws: evaluate(ws, ws.file("t.pt", b"not a zip"), "--data", "digits"), "t.pt"
    ),
    Case("eval-weights-without-factory", lambda ws: evaluate(ws, weights(ws), "--data", "digits"), "--factory"),
    Case("eval-pth-code-in-pickle", lambda ws: pth(ws, b"cos\nsystem\n(S'true'\ntR."), "w.pth"),
    Case("eval-pth-garbage", lambda ws: pth(ws, b"junk" * 10), "w.pth"),
    Case(
        "eval-factory-missing-file",
        lambda ws: evaluate(ws, weights(ws), "--factory", ws.root / "no.py:build", "--data", "digits"),
        "no.py",
    ),
    Case("eval-factory-missing-fn", lambda ws: with_factory(ws, TINY_NET, fn="make"), "make"),
    Case(
        "eval-factory-no-colon",
        lambda ws: evaluate(ws, weights(ws), "--factory", "build", "--data", "digits"),
        "--factory",
    ),
    Case(
        "eval-factory-module-absent",
        lambda ws: evaluate(ws, weights(ws), "--factory", "no_such_pkg.nets:build", "--data", "digits"),
        "no_such_pkg",
    ),
    Case(
        "eval-factory-raises",
        lambda ws: with_factory(ws, 'def build():\n    raise RuntimeError("no GPU here")\n'),
        "no GPU here",
    ),
    Case("eval-factory-syntax-error", lambda ws: with_factory(ws, "def build(:\n"), "SyntaxError"),
    Case("eval-factory-not-a-module", lambda ws: with_factory(ws, NOT_A_MODULE), "int"),
    Case("eval-factory-weights-garbage", lambda ws: with_factory(ws, TINY_NET), "not a readable safetensors"),
    Case(
        "eval-factory-shapes-differ",
        lambda ws: with_factory(ws, TINY_NET, content=(ws.made["teacher"] / "weights.safetensors").read_bytes()),
        "do not fit",
    ),
    Case("eval-split-bogus", lambda ws: evaluate(ws, ws.run("teacher"), "--split", "holdout"), "holdout"),
    Case("eval-threads-0", lambda ws: evaluate(ws, ws.run("teacher"), "--threads", 0), "--threads 0"),
    Case("eval-min-runs-negative", lambda ws: evaluate(ws, ws.run("teacher"), "--min-runs", -1), "--min-runs"),
    Case("eval-min-seconds-negative", lambda ws: evaluate(ws, ws.run("teacher"), "--min-seconds", -1), "--min-seconds"),
    Case("eval-data-other-shape", lambda ws: evaluate(ws, ws.run("teacher"), "--data", "digits-shift"), "shape"),
    Case(
        "eval-weights-changed", lambda ws: evaluate(ws, ws.truncated("teacher", "weights.safetensors")), "changed since"
    ),
    # -- layers ------------------------------------------------------------------------------------------------------
    Case("layers-onnx", lambda ws: ["teacher", "layers", ws.run("teacher") / "model.onnx"], "no named layers"),
    Case("layers-tree", lambda ws: ["teacher", "layers", ws.run("tree")], "tree"),
    Case("layers-depth-0", lambda ws: ["teacher", "layers", ws.run("teacher"), "--depth", 0], "--depth"),
    Case(
        "layers-weights-changed",
        lambda ws: ["teacher", "layers", ws.truncated("teacher", "weights.safetensors")],
        "changed since",
    ),
    Case("layers-missing", lambda ws: ["teacher", "layers", ws.root / "nowhere"], "nowhere"),
]
