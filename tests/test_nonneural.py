"""Non-neural students (svm, forest, gbdt, tree): fit on digits, export, parity, bench, storage, option errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.distillation.methods import make_method
from kdedge.distillation.run import fit_run
from kdedge.errors import OptionError, RunError
from kdedge.students import load_student, make_params
from kdedge.teachers import load_teacher

# (family, options, method, method options, accuracy floor on digits' test split)
CASES = [
    ("svm", {"C": 10.0}, "logits", {}, 0.95),
    ("svm", {"kernel": "poly", "degree": 2}, "hard", {}, 0.93),
    ("svm", {"approx": "nystroem", "n_components": 150}, "softmax", {"temperature": 50.0}, 0.90),
    ("forest", {"n_estimators": 15}, "softmax", {"temperature": 1.0}, 0.88),
    ("forest", {"n_estimators": 15, "max_depth": 8}, "hard", {}, 0.88),
    ("gbdt", {"n_estimators": 25, "num_leaves": 8}, "logits", {}, 0.88),
    ("gbdt", {"n_estimators": 25, "num_leaves": 8}, "hard", {}, 0.88),
    ("tree", {"max_depth": 10}, "softmax", {"temperature": 100.0}, 0.70),
    ("tree", {"max_depth": 10}, "hard", {}, 0.70),
]


@pytest.fixture(scope="module")
def teacher(teacher_run):
    return load_teacher(teacher_run.path)


def _fit(out, family, options, method, method_options, digits, teacher, **kwargs):
    return fit_run(
        out=out,
        kind="student",
        family=family,
        options=options,
        method=make_method(method, **method_options),
        dataset=digits,
        data_source="digits",
        seed=0,
        teacher=None if method == "hard" else teacher,
        **kwargs,
    )


@pytest.mark.parametrize(("family", "options", "method", "method_options", "floor"), CASES)
def test_fit_export_parity_bench_and_round_trip(
    tmp_path, digits, teacher, teacher_run, family, options, method, method_options, floor
):
    import onnx

    from kdedge import measure as bench
    from kdedge.convert import export_run

    run = _fit(tmp_path / family, family, options, method, method_options, digits, teacher)
    metrics = run.manifest.metrics
    assert metrics["test_accuracy"] >= floor
    assert metrics["transfer_samples"] == digits.describe()["sizes"]["train"]
    # stored without pickle: skops for scikit-learn, LightGBM's text format, a small JSON
    assert all(name.endswith((".skops", ".txt", ".json")) for name in run.manifest.weights)

    info = export_run(run.path)
    assert info["parity"]["label_agreement"] >= 0.999

    model = onnx.load(run.onnx_path)
    assert [i.name for i in model.graph.input] == ["input"]
    dims = [d.dim_value or d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == list(digits.sample_shape)  # flattened inside the graph, like the neural students
    outputs = {o.name: o.type.tensor_type.elem_type for o in model.graph.output}
    assert outputs == {"scores": onnx.TensorProto.FLOAT, "label": onnx.TensorProto.INT64}
    assert not any(node.op_type == "ZipMap" for node in model.graph.node)

    # the exported graph gives the run's own test accuracy, and a bench row next to the teacher
    x_test, y_test = digits.split("test")
    result = bench.bench(
        [bench.Entry("student", run.onnx_path), bench.Entry("teacher", teacher_run.onnx_path, "teacher")],
        x_test,
        y_test,
        memory=False,
        floor=False,
        latency_options={"min_runs": 20, "min_seconds": 0.05},
    )
    row = result["rows"][0]
    assert row["family"] == family
    assert row["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=2 / len(y_test))
    assert row["latency"]["p50_us"] > 0 and row["size_kb"] > 0
    if method != "hard":
        assert row["agreement"] == pytest.approx(metrics["test_agreement_with_teacher"], abs=2 / len(y_test))

    # round trip: the loaded student reproduces the fitted one's test accuracy and the graph's scores
    loaded = load_student(run)
    assert np.mean(loaded.predict(x_test) == y_test) == pytest.approx(metrics["test_accuracy"])
    onnx_scores = bench.quality.predict(run.onnx_path, x_test)[0]
    np.testing.assert_allclose(loaded.scores(x_test), onnx_scores, rtol=1e-3, atol=1e-4)
    assert loaded.n_params == run.manifest.student.n_params > 0


def test_regression_targets_are_standardized_once(tmp_path, digits, teacher):
    """Softmax at T=100 sits near 1/K everywhere; one global mean/std keeps an SVR from collapsing to constants."""
    run = _fit(tmp_path / "svr", "svm", {"C": 10.0}, "softmax", {"temperature": 100.0}, digits, teacher)
    scale = run.manifest.metrics["targets"]
    assert scale["mean"] == pytest.approx(0.1, abs=1e-6)  # softmax rows sum to one: the mean is 1/K
    assert 0 < scale["std"] < 0.01
    assert run.manifest.metrics["test_accuracy"] > 0.9


def test_svr_per_class_shares_support_vectors_in_double_precision(digits):
    """k(x, union of support vectors) @ W + b reproduces every class's SVR, and the graph has no float32 SVM op."""
    from sklearn.metrics.pairwise import rbf_kernel
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVR

    from kdedge.convert.nonneural import nonneural_to_onnx
    from kdedge.convert.parity import run_onnx
    from kdedge.convert.sklearn_onnx import shared_support

    x, y = digits.split("train")
    x = x.reshape(len(x), -1)[:400] / 16.0
    targets = np.eye(3)[y[:400] % 3] * 4.0
    model = MultiOutputRegressor(SVR(C=10.0, gamma=0.05)).fit(x, targets)
    points, weights, intercepts = shared_support(model.estimators_)
    assert len(points) < sum(len(e.support_) for e in model.estimators_)  # shared, not copied per class
    np.testing.assert_allclose(rbf_kernel(x, points, gamma=0.05) @ weights + intercepts, model.predict(x), atol=1e-9)

    graph = nonneural_to_onnx("sklearn", Pipeline([("model", model)]), (64,), 3, 18)
    assert not any(node.op_type == "SVMRegressor" for node in graph.graph.node)
    scores, labels = run_onnx(graph.SerializeToString(), x)
    np.testing.assert_allclose(scores, model.predict(x), atol=1e-5)
    np.testing.assert_array_equal(labels, model.predict(x).argmax(1))


def test_large_kernel_fit_warns_once(monkeypatch, capsys, digits):
    from kdedge.distillation.loop import Batches
    from kdedge.students import student_class, svm

    monkeypatch.setattr(svm, "LARGE_KERNEL_FIT", 100)
    x, y = digits.split("train")
    student = student_class("svm")(make_params("svm", {}), digits.sample_shape, 10, digits.normalization)
    student.fit(make_method("hard"), Batches(x[:300], y[:300]), Batches(x[:50], y[:50]), seed=0)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning:") and "--approx nystroem" in lines[0]


@pytest.mark.parametrize(
    ("family", "options", "expected"),
    [
        ("svm", {"C": -1.0}, "--C"),
        ("svm", {"C": 0}, "--C"),
        ("svm", {"kernel": "sigmoid"}, "--kernel"),
        ("svm", {"n_components": 100}, "--approx nystroem"),
        ("svm", {"degree": 0}, "--degree"),
        ("svm", {"gamma": "fast"}, "--gamma='fast'.*scale, auto or a number > 0"),
        ("svm", {"gamma": -1}, "--gamma"),
        ("mlp", {"kernel": "rbf"}, "--kernel does not apply to --student mlp"),
        ("forest", {"kernel": "rbf"}, "--kernel does not apply to --student forest"),
        ("forest", {"n_estimators": 0}, "--n-estimators"),
        ("gbdt", {"learning_rate": -0.1}, "--learning-rate"),
        ("tree", {"max_depth": 0}, "--max-depth"),
    ],
)
def test_bad_student_options_name_the_option(family, options, expected):
    with pytest.raises(OptionError, match=expected):
        make_params(family, options)


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_temperature_must_be_positive(temperature):
    with pytest.raises(OptionError, match="--temperature"):
        make_method("softmax", temperature=temperature)


def test_kd_does_not_apply_to_non_neural_students(tmp_path, digits, teacher):
    with pytest.raises(OptionError, match="--method kd does not apply to --student svm"):
        _fit(tmp_path / "x", "svm", {}, "kd", {}, digits, teacher)


def test_skops_file_with_foreign_types_is_refused(tmp_path):
    import operator

    import skops.io
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from kdedge.students.sklearn_base import load_skops

    path = tmp_path / "pipeline.skops"
    skops.io.dump(Pipeline([("f", FunctionTransformer(func=operator.neg))]).fit([[1.0]]), path)
    with pytest.raises(RunError, match="_operator.neg"):
        load_skops(path)


def test_cli_distill_export_and_errors(tmp_path, teacher_run):
    runner = CliRunner()
    out = tmp_path / "tree"
    args = ["distill", "--teacher", str(teacher_run.path), "--student", "tree", "--method", "softmax"]
    result = runner.invoke(
        app,
        [*args, "--temperature", "50", "--max-depth", "8", "--transfer", "augment", "--transfer-size", "2x"]
        + ["--out", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["transfer_samples"] == 2 * 1069
    manifest = json.loads((out / "kdedge.json").read_text())
    assert manifest["transfer"]["kind"] == "augment" and manifest["transfer"]["generated"] == 1069
    result = runner.invoke(app, ["export", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "model.onnx").is_file()

    bad = {
        "--kernel does not apply to --student mlp": ["--student", "mlp", "--method", "kd", "--kernel", "rbf"],
        "--C": ["--student", "svm", "--method", "logits", "--C", "-1"],
        "--kernel": ["--student", "svm", "--method", "logits", "--kernel", "cubic"],
        "--temperature": ["--student", "svm", "--method", "softmax", "--temperature", "0"],
        "learns from labels only": ["--student", "svm", "--method", "hard", "--transfer", "munge"],
    }
    for expected, options in bad.items():
        result = runner.invoke(
            app, ["distill", "--teacher", str(teacher_run.path), *options, "--out", str(tmp_path / "bad")]
        )
        assert result.exit_code == 2, (options, result.output)
        assert expected in result.output
        assert not (tmp_path / "bad").exists()


def test_nystroem_with_duplicate_components_is_conditioned_and_exports(tmp_path, teacher_run):
    """A shifted transfer set holds exact copies of its inputs (the zero shift), so Nystroem draws duplicate
    components; scikit-learn's 1e-12 eigenvalue floor then gives weights near 1e6 and float32 ONNX scores 0.1 away
    from the native ones (the parity gate refused a Fashion-MNIST SVM). Conditioned, it exports."""
    from sklearn.kernel_approximation import Nystroem

    import kdedge
    from kdedge.convert import export_run
    from kdedge.students.svm import NYSTROEM_RCOND, condition_nystroem

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6))
    x = np.concatenate([x, x[:10]])  # ten exact duplicates
    features = Nystroem(gamma=0.2, n_components=len(x), random_state=0).fit(x)
    assert np.abs(features.normalization_).max() > 1e4  # what scikit-learn leaves
    condition_nystroem(features)
    c = features.components_
    eigen = np.linalg.eigvalsh(np.exp(-0.2 * ((c[:, None] - c[None]) ** 2).sum(-1)))
    assert np.abs(features.normalization_).max() <= 1 / np.sqrt(NYSTROEM_RCOND * eigen.max()) + 1e-6
    # the conditioned map still reproduces the kernel between the inputs: k(a, b) ≈ φ(a)·φ(b)
    phi = features.transform(x)
    kernel = np.exp(-0.2 * ((x[:, None] - x[None]) ** 2).sum(-1))
    np.testing.assert_allclose(phi @ phi.T, kernel, atol=1e-6)

    run = kdedge.distill(teacher_run.path, out=tmp_path / "svm", student="svm", approx="nystroem", n_components=600,
                         method="logits", transfer="shift", transfer_size="5x")  # fmt: skip
    info = export_run(run.path)
    assert info["parity"]["max_abs_diff"] < 1e-3
