"""What ships is the same bytes for the same seed, and holds nothing of the workstation (issue #30, items 3 and 4).

Two folders train the same command from a data file under a distinctively named folder; every file `kdedge
export` writes (ONNX fp32 and int8, C sources) must be byte-identical between them and must not contain the home
folder, the run folders or the data path. The run records (kdedge.json) keep paths for kdedge's own use.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kdedge.cli import app

SECRET = "alice-private-layout"


def kdedge(*args: str) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def data_file(tmp_path_factory, digits) -> Path:
    folder = tmp_path_factory.mktemp(SECRET) / "projects" / SECRET
    folder.mkdir(parents=True)
    x = np.concatenate([digits.split(s)[0] for s in ("train", "val", "test")])
    y = np.concatenate([digits.split(s)[1] for s in ("train", "val", "test")])
    path = folder / "images.npz"
    np.savez(path, x=x.reshape(len(x), 8, 8), y=y)
    return path


def shipped(run: Path) -> dict[str, bytes]:
    """Every file export wrote into the run folder, by its path relative to the run (the records excluded)."""
    records = {"kdedge.json", "metrics.json", "weights.safetensors", "pipeline.skops"}
    return {
        str(p.relative_to(run)): p.read_bytes()
        for p in sorted(run.rglob("*"))
        if p.is_file() and p.name not in records and not p.name.startswith(".")
    }


def local_strings(*paths: Path) -> list[bytes]:
    found = {str(Path.home()), SECRET, *map(str, paths), *(str(p.resolve()) for p in paths)}
    return [s.encode() for s in found if len(s) > 1 and s != "/"]


@pytest.mark.parametrize(
    ("family", "train_args", "targets"),
    [
        ("mlp", ["--hidden", "64", "--epochs", "30"], ["cpu-fp32", "cpu-int8-dynamic", "c-host"]),
        ("forest", ["--n-estimators", "5", "--max-depth", "6"], ["cpu-fp32", "c-host"]),
    ],
)
def test_same_seed_same_bytes_and_no_local_paths(tmp_path, data_file, family, train_args, targets):
    runs = []
    for folder in ("first", "second"):
        run = tmp_path / folder / family
        kdedge("distill", "--data", data_file, "--student", family, "--method", "hard", *train_args, "--out", run)
        for target in targets:
            extra = ["--keep-slower-int8"] if "int8" in target else []
            kdedge("export", run, "--target", target, *extra)
        runs.append(run)
    first, second = (shipped(r) for r in runs)
    assert first.keys() == second.keys() and "model.onnx" in first
    assert any(name.endswith(".c") for name in first), sorted(first)
    different = [name for name in first if first[name] != second[name]]
    assert not different, f"same seed, different bytes: {different}"
    leaks = [
        (name, s.decode())
        for name, content in first.items()
        for s in local_strings(tmp_path, data_file, runs[0], Path(os.getcwd()))
        if s in content
    ]
    assert not leaks, leaks


def test_a_bare_model_asks_for_its_data_and_one_beside_its_run_finds_it(tmp_path, data_file):
    run = tmp_path / "mlp"
    kdedge("distill", "--data", data_file, "--student", "mlp", "--method", "hard", "--epochs", "2", "--out", run)
    kdedge("export", run)
    beside = CliRunner().invoke(app, ["teacher", "eval", str(run / "model.onnx")])
    assert beside.exit_code == 0, beside.output

    alone = tmp_path / "app" / "model.onnx"
    alone.parent.mkdir()
    alone.write_bytes((run / "model.onnx").read_bytes())
    result = CliRunner().invoke(app, ["teacher", "eval", str(alone)])
    assert result.exit_code == 2
    assert "images.npz" in result.output and "pass --data" in result.output
    assert str(data_file.parent) not in result.output
    given = CliRunner().invoke(app, ["teacher", "eval", str(alone), "--data", str(data_file)])
    assert given.exit_code == 0, given.output
