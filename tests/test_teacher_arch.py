"""`kdedge teacher train` picks the architecture from the data's layout; --arch lists and checks its choices."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from kdedge.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def vectors(tmp_path_factory):
    """Five features, three classes that a line separates (a user's table, as .npz)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 5)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.int64) + (x[:, 1] > 0.5)
    path = tmp_path_factory.mktemp("data") / "table.npz"
    np.savez(path, x=x, y=y)
    return path


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_vectors_get_an_mlp_teacher(tmp_path, vectors):
    out = tmp_path / "teacher"
    r = runner.invoke(app, ["teacher", "train", "--data", str(vectors), "--epochs", "2", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "teacher: mlp from the data's layout (vectors); --arch to choose; --augment none, --patience 20" in r.stderr
    manifest = json.loads((out / "kdedge.json").read_text())
    assert manifest["family"] == "mlp" and manifest["data"]["layout"] == "vector"


def test_arch_choices_are_checked_and_listed(tmp_path, vectors):
    args = ["teacher", "train", "--data", str(vectors), "--epochs", "1", "--out", str(tmp_path / "t")]
    assert "use --arch mlp" in _one_error_line(runner.invoke(app, [*args, "--arch", "cnn"]))
    assert "choose from cnn, resnet, mlp" in _one_error_line(runner.invoke(app, [*args, "--arch", "vgg"]))
    help_text = " ".join(runner.invoke(app, ["teacher", "train", "--help"]).stdout.replace("│", " ").split())
    assert "Teacher architecture: cnn, resnet or mlp. Default: from the data's layout" in help_text


def test_images_still_get_a_cnn(tmp_path):
    out = tmp_path / "teacher"
    r = runner.invoke(app, ["teacher", "train", "--epochs", "1", "--channels", "4,4", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "kdedge.json").read_text())["family"] == "cnn" and "teacher:" not in r.stderr
