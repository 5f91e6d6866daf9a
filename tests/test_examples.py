"""The examples run as a user would run them."""

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(*args):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=600)


def test_app_inference_uses_only_the_onnx_file(kd_mlp_run):
    result = _run(EXAMPLES / "app_inference.py", kd_mlp_run.onnx_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("true ") for line in lines)
    assert sum(line.split()[1] == line.split()[3] for line in lines) >= 4  # a trained model gets most right


def test_python_api_example(tmp_path):
    result = _run(EXAMPLES / "python_api.py", "--out", tmp_path / "api", "--epochs", 2)
    assert result.returncode == 0, result.stderr
    assert "runtime floor" in result.stdout and "mlp-kd" in result.stdout
    assert all((tmp_path / "api" / name / "model.onnx").is_file() for name in ("teacher", "mlp-kd", "mlp-hard"))
