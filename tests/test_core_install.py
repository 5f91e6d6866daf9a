"""The core install (numpy, onnxruntime, typer, rich, pydantic) runs bench, predict and targets on models exported
by the full install; a command that needs the train extra says so (exit 2).

The training packages are made unimportable in a subprocess by a `sys.meta_path` blocker loaded through
sitecustomize on PYTHONPATH, which is what a board without them looks like to Python.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

BLOCKED = ("torch", "sklearn", "lightgbm", "onnx", "skl2onnx", "onnxmltools", "onnxscript", "safetensors", "skops")

BLOCKER = f'''
import sys

BLOCKED = {BLOCKED!r}


class _TrainExtraBlocker:
    """Acts as if the train extra were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the core-install test)", name=name)
        return None


sys.meta_path.insert(0, _TrainExtraBlocker())
'''


@pytest.fixture(scope="module")
def core_env(tmp_path_factory):
    blocker_dir = tmp_path_factory.mktemp("core_only")
    (blocker_dir / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": str(blocker_dir), "KDEDGE_QUIET": "1"}
    return env


def kdedge(env, *args, check_rc: int | None = 0):
    code = "import sys; from kdedge.cli import main; sys.argv[0] = 'kdedge'; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True, timeout=300
    )
    if check_rc is not None:
        assert done.returncode == check_rc, done.stdout + done.stderr
    return done


def test_the_blocker_blocks(core_env):
    for module in ("torch", "sklearn", "onnx"):
        done = subprocess.run([sys.executable, "-c", f"import {module}"], env=core_env, capture_output=True, text=True)
        assert done.returncode != 0 and "blocked by the core-install test" in done.stderr


def test_bench_and_predict_without_the_train_extra(tmp_path, core_env, teacher_run, kd_mlp_run, digits):
    out = tmp_path / "bench.json"
    kdedge(
        core_env, "bench", kd_mlp_run.path, teacher_run.path, "--data", "digits", "--batch", "1,4",
        "--min-runs", 5, "--min-seconds", 0.01, "--out", out, "--csv", tmp_path / "bench.csv",
    )  # fmt: skip
    rows = {row["name"]: row for row in json.loads(out.read_text())["rows"]}
    assert rows["mlp"]["accuracy"] == pytest.approx(kd_mlp_run.manifest.metrics["test_accuracy"])
    assert rows["mlp"]["memory"]["model_mb"] >= 0  # the memory probe runs core-only too
    assert len(rows["teacher"]["latencies"]) == 2 and (tmp_path / "bench.csv").is_file()

    done = kdedge(
        core_env, "bench", "--model", kd_mlp_run.onnx_path, "--data", "digits", "--no-memory",
        "--min-runs", 5, "--min-seconds", 0.01,
    )  # fmt: skip
    assert "runtime floor" in done.stdout

    x, _ = digits.split("test")
    np.save(tmp_path / "x.npy", x[:5])
    done = kdedge(core_env, "predict", teacher_run.onnx_path, tmp_path / "x.npy", "--json")
    labels = [p["label"] for p in json.loads(done.stdout)["predictions"]]
    assert len(labels) == 5 and all(0 <= label < 10 for label in labels)

    done = kdedge(core_env, "targets", "--json")
    assert "cpu-int8-static" in {p["name"] for p in json.loads(done.stdout)}


@pytest.mark.parametrize(
    ("args", "module"),
    [
        (["distill", "--teacher", "{teacher}", "--out", "{tmp}/x"], "safetensors"),  # the run teacher's weights
        (["teacher", "train", "--out", "{tmp}/t"], "torch"),
        (["export", "{teacher}"], "onnx"),
    ],
)
def test_commands_that_need_the_train_extra_say_so(tmp_path, core_env, teacher_run, args, module):
    args = [a.format(teacher=teacher_run.path, tmp=tmp_path) for a in args]
    done = kdedge(core_env, *args, check_rc=2)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [
        f"error: this command needs '{module}', which is not installed; install it with: pip install 'kdedge[train]'"
    ]
    assert not (tmp_path / "x").exists() and not (tmp_path / "t").exists()


@pytest.mark.parametrize(
    ("module", "extra"), [("torch", "train"), ("lightgbm", "train"), ("m2cgen", "c"), ("tl2cgen", "c")]
)
def test_a_missing_optional_module_names_its_extra(module, extra):
    from kdedge.errors import missing_extra

    exc = ModuleNotFoundError(f"No module named '{module}'", name=f"{module}.sub")
    assert str(missing_extra(exc)).endswith(f"pip install 'kdedge[{extra}]'")
    assert missing_extra(ModuleNotFoundError("x", name="numpy")) is None  # not ours to explain
