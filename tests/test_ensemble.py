"""Ensembles: the vote by hand, --best on validation, a self-contained run, one ONNX graph that matches."""

import json
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.distillation.methods import make_method
from kdedge.distillation.run import fit_run
from kdedge.runs import Run
from kdedge.students import load_student
from kdedge.students.ensemble import build_ensemble, combine

runner = CliRunner()


def test_votes_by_hand():
    a = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    b = np.array([[0.0, 0.0, 3.0], [0.0, 0.0, 5.0]])
    pa = np.exp(a) / np.exp(a).sum(1, keepdims=True)
    pb = np.exp(b) / np.exp(b).sum(1, keepdims=True)
    np.testing.assert_allclose(combine([a, b], "mean", 3), np.log((pa + pb) / 2), rtol=1e-6)
    # majority: vote counts; a tie goes to the lowest class index
    np.testing.assert_array_equal(combine([a, b], "majority", 3), [[1, 0, 1], [0, 1, 1]])
    assert list(np.argmax(combine([a, b], "majority", 3), 1)) == [0, 1]


@pytest.fixture(scope="module")
def members(tmp_path_factory, digits, teacher_run, kd_mlp_run):
    """Three MLPs of different quality: the KD fixture, a 16-unit KD one and a weak 2-epoch hard one."""
    from kdedge.teachers import load_teacher

    root = tmp_path_factory.mktemp("members")
    small = fit_run(
        out=root / "kd16", kind="student", family="mlp", options={"hidden": 16, "epochs": 10},
        method=make_method("kd", temperature=2.0), dataset=digits, data_source="digits", seed=1,
        teacher=load_teacher(teacher_run.path),
    )  # fmt: skip
    weak = fit_run(
        out=root / "weak", kind="student", family="mlp", options={"hidden": 4, "epochs": 2},
        method=make_method("hard"), dataset=digits, data_source="digits", seed=2,
    )  # fmt: skip
    return [kd_mlp_run, small, weak]


@pytest.mark.parametrize("vote", ["mean", "majority"])
def test_ensemble_exports_as_one_graph_matching_native(tmp_path, digits, members, vote):
    from kdedge.convert import export_run

    run = build_ensemble([m.path for m in members], vote, tmp_path / "ens")
    export_run(run.path)
    model = onnx.load(str(run.onnx_path))
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["scores", "label"]
    session = ort.InferenceSession(str(run.onnx_path), providers=["CPUExecutionProvider"])
    native = load_student(run)
    x, _ = digits.split("test")
    for batch in (x[:1], x[:50]):
        scores, labels = session.run(None, {"input": batch})
        np.testing.assert_allclose(scores, native.scores(batch), rtol=1e-3, atol=1e-5)
        np.testing.assert_array_equal(labels, native.predict(batch))
    if vote == "majority":
        np.testing.assert_array_equal(scores.sum(1), 3.0)
    else:
        np.testing.assert_allclose(np.exp(scores).sum(1), 1.0, rtol=1e-5)


def test_best_keeps_the_members_best_on_validation_and_the_run_is_self_contained(tmp_path, digits, members):
    copies = []
    for m in members:  # copies, so the originals can vanish afterwards
        shutil.copytree(m.path, tmp_path / m.path.name)
        copies.append(tmp_path / m.path.name)
    run = build_ensemble(copies, "mean", tmp_path / "best2", best=2)
    x_val, y_val = digits.split("val")
    val = [float(np.mean(load_student(Run.load(c)).predict(x_val) == y_val)) for c in copies]
    kept = [m["kept"] for m in run.manifest.metrics["members"]]
    assert sum(kept) == 2 and not kept[int(np.argmin(val))]
    assert [m["val_accuracy"] for m in run.manifest.metrics["members"]] == pytest.approx(val)
    for c in copies:
        shutil.rmtree(c)
    reloaded = load_student(Run.load(run.path))
    assert len(reloaded.members) == 2
    assert reloaded.n_params == run.manifest.student.n_params
    x_test, y_test = digits.split("test")
    assert np.mean(reloaded.predict(x_test) == y_test) == pytest.approx(run.manifest.metrics["test_accuracy"])


def test_ensemble_cli_and_its_errors(tmp_path, members, teacher_run):
    out = tmp_path / "ens"
    r = runner.invoke(app, ["ensemble", *[str(m.path) for m in members], "--vote", "majority", "--best", "2",
                            "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "left out" in r.output and "ensemble of 2 (majority vote)" in r.output
    assert json.loads((out / "kdedge.json").read_text())["method"] == {
        "name": "ensemble",
        "vote": "majority",
        "best": 2,
    }
    r = runner.invoke(app, ["ensemble", str(members[0].path), "--best", "3", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "--best 3" in r.output
    r = runner.invoke(app, ["ensemble", str(members[0].path), "--vote", "median", "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and not (tmp_path / "x").exists()
    # an ensemble can teach (its scores are log-probabilities)
    r = runner.invoke(app, ["distill", "--teacher", str(out), "--hidden", "8", "--epochs", "2", "--out",
                            str(tmp_path / "from-ens")])  # fmt: skip
    assert r.exit_code == 0, r.output
