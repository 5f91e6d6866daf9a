"""Start-up: a command imports only what its work needs, so a tree distill starts its work without loading torch,
and the CLI's own import loads none of the heavy libraries. Guarded on the import graph, not on time."""

import json
import subprocess
import sys

HEAVY = ("torch", "sklearn", "lightgbm", "onnx", "onnxscript", "skl2onnx", "optuna", "distributed", "matplotlib")

SPY = """
import json, sys
from kdedge.students import student_class
cls = student_class("tree")
fit = cls.fit
def spy(self, *args, **kwargs):
    print("BEFORE-FIT " + json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), flush=True)
    return fit(self, *args, **kwargs)
cls.fit = spy
from kdedge.cli import app
app({args!r}, standalone_mode=False)
"""


def loaded_before_fit(args) -> list[str]:
    code = SPY.format(heavy=HEAVY, args=[str(a) for a in args])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("BEFORE-FIT "))
    return json.loads(line.removeprefix("BEFORE-FIT "))


def test_cli_import_loads_no_heavy_library():
    code = f"import sys, kdedge.cli, kdedge.api; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_tree_distill_on_labels_starts_without_torch(tmp_path):
    args = ["distill", "--student", "tree", "--method", "hard", "--data", "digits", "--out", tmp_path / "tree"]
    assert loaded_before_fit(args) == []  # sklearn itself loads inside fit


def test_tree_distill_from_an_onnx_teacher_starts_without_torch(tmp_path, teacher_run):
    args = ["distill", "--teacher", teacher_run.onnx_path, "--data", "digits", "--student", "tree", "--method",
            "logits", "--out", tmp_path / "tree"]  # fmt: skip
    assert "torch" not in loaded_before_fit(args)
