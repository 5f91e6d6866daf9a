"""The typed run record: written once, read through attributes, and a damaged one is one line (exit 2)."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.manifest import SCHEMA_VERSION
from kdedge.runs import Run

runner = CliRunner()


def test_a_run_records_its_schema_and_reads_through_attributes(kd_mlp_run):
    raw = json.loads((kd_mlp_run.path / "kdedge.json").read_text())
    assert raw["schema_version"] == SCHEMA_VERSION
    m = Run.load(kd_mlp_run.path).manifest
    assert m.student.params["hidden"] == [64] and m.data.sample_shape == [1, 8, 8] and m.export["target"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.pop("student"), "student: field required"),
        (lambda m: m["student"]["params"].update(hidden="abc"), "hidden"),
        (lambda m: m["data"].update(sample_shape="8x8"), "data.sample_shape"),
        (lambda m: m.update(schema_version=SCHEMA_VERSION + 1), "newer kdedge"),
        (lambda m: m.update(kind="model"), "kind"),
    ],
)
def test_damaged_manifest_is_one_line(tmp_path, kd_mlp_run, edit, message):
    run = tmp_path / "run"
    shutil.copytree(kd_mlp_run.path, run)
    manifest = json.loads((run / "kdedge.json").read_text())
    edit(manifest)
    (run / "kdedge.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["export", str(run)])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
