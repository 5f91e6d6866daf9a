"""Plug-ins through entry points: a package (made here, on PYTHONPATH with its dist-info) adds a student family and
a method, used from the CLI and the API with no change to kdedge; registries refuse a name taken twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

PLUGIN = textwrap.dedent(
    '''
    """A tiny kdedge plug-in: a wider MLP family and a softmax-MSE method."""
    from typing import ClassVar

    from pydantic import Field

    from kdedge.distillation.methods import NEURAL, Method, method
    from kdedge.students import register
    from kdedge.students.neural import MLPParams, MLPStudent


    class WideParams(MLPParams):
        hidden: tuple[int, ...] = (256,)
        width_note: str = Field("wide", description="a field only this family has")


    @register
    class WideMLP(MLPStudent):
        family: ClassVar[str] = "widemlp"
        summary: ClassVar[str] = "an MLP with a wider default"
        Params = WideParams

        def architecture_args(self):
            args = super().architecture_args()
            args.pop("width_note")  # a note, not an argument of the net
            return args


    @method
    class SoftMSE(Method):
        name: ClassVar[str] = "soft_mse"
        summary: ClassVar[str] = "MSE between the softmaxes, times --mse-weight"
        trains: ClassVar[frozenset] = frozenset({NEURAL})
        mse_weight: float = Field(1.0, gt=0, description="weight of the softmax MSE")

        def loss(self, student_logits, teacher_logits, labels):
            import torch.nn.functional as F

            return self.mse_weight * F.mse_loss(student_logits.softmax(1), teacher_logits.softmax(1))
    '''
)


@pytest.fixture()
def plugin_path(tmp_path):
    root = tmp_path / "site"
    (root / "kdedge_tiny_plugin.py").parent.mkdir(parents=True)
    (root / "kdedge_tiny_plugin.py").write_text(PLUGIN)
    info = root / "kdedge_tiny_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kdedge-tiny-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[kdedge.students]\nwidemlp = kdedge_tiny_plugin\n\n[kdedge.methods]\nsoft_mse = kdedge_tiny_plugin\n"
    )
    return root


def run(args, plugin_path, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(plugin_path), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def test_plugin_family_and_method_from_cli_and_api(plugin_path, tmp_path, teacher_run):
    listed = run(["-m", "kdedge.cli", "students", "--json"], plugin_path, tmp_path)
    assert listed.returncode == 0, listed.stderr
    families = {row["family"]: row for row in json.loads(listed.stdout)}
    assert "soft_mse" in families["widemlp"]["methods"] and "soft_mse" in families["mlp"]["methods"]
    help_text = run(["-m", "kdedge.cli", "distill", "--help"], plugin_path, tmp_path).stdout
    assert "--mse-weight" in help_text and "--width-note" in help_text  # generated from the plug-in's fields

    out = tmp_path / "wide"
    cli = run(
        ["-m", "kdedge.cli", "distill", "--teacher", str(teacher_run.path), "--student", "widemlp", "--method",
         "soft_mse", "--mse-weight", "2", "--epochs", "2", "--out", str(out), "--json"],
        plugin_path, tmp_path,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    manifest = json.loads((out / "kdedge.json").read_text())
    assert manifest["family"] == "widemlp" and manifest["method"] == {"name": "soft_mse", "mse_weight": 2.0}
    assert manifest["student"]["params"]["hidden"] == [256]

    api = run(
        ["-c", "import kdedge, sys; r = kdedge.distill(sys.argv[1], out=sys.argv[2], student='widemlp', "
         "method='soft_mse', hidden=16, epochs=1); kdedge.export(r); print(r.family, r.metrics['epochs_run'])",
         str(teacher_run.path), str(tmp_path / "api")],
        plugin_path, tmp_path,
    )  # fmt: skip
    assert api.returncode == 0, api.stderr
    assert api.stdout.split() == ["widemlp", "1"] and (tmp_path / "api" / "model.onnx").is_file()


def test_a_name_taken_twice_is_refused():
    from kdedge.distillation.methods import METHODS, Method, method
    from kdedge.students import STUDENTS, register, student_class

    student_class("mlp")

    class Again(STUDENTS["mlp"]):
        pass

    with pytest.raises(ValueError, match="'mlp' is registered twice"):
        register(Again)

    class KDAgain(Method):
        name = "kd"

    with pytest.raises(ValueError, match="'kd' is registered twice"):
        method(KDAgain)
    assert METHODS["kd"] is not KDAgain and STUDENTS["mlp"] is not Again
