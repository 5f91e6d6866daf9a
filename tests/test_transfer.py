"""Transfer sets: sizes, labels (kept by augment, unknown for munge/pool), MUNGE's swap rate, pool validation,
options, and the fit_run hook."""

from __future__ import annotations

import numpy as np
import pytest

from kdedge.distillation.methods import make_method
from kdedge.distillation.run import fit_run
from kdedge.distillation.transfer import UNLABELED, copy_sources, make_transfer
from kdedge.errors import DataError, OptionError


@pytest.fixture(scope="module")
def train(digits):
    return digits.split("train")


@pytest.mark.parametrize(
    ("kind", "size", "factor"), [("augment", "3x", 3), ("munge", "2.5x", 2.5), ("augment", None, 5)]
)
def test_generated_sets_keep_the_originals_and_add_new_inputs(train, kind, size, factor):
    x, y = train
    options = {} if size is None else {"transfer_size": size}
    built = make_transfer(kind, **options).build(x, y, seed=0)
    n_new = int(round((factor - 1) * len(x)))
    assert built.x.shape == (len(x) + n_new, *x.shape[1:]) and built.x.dtype == np.float32
    np.testing.assert_array_equal(built.x[: len(x)], x)
    np.testing.assert_array_equal(built.y[: len(x)], y)
    assert built.info["kind"] == kind and built.info["size"] == len(built.x) and built.info["generated"] == n_new
    assert np.all(np.isfinite(built.x))
    # new inputs are new, yet close to the data (not noise)
    assert not np.any(np.all(built.x[len(x) : 2 * len(x)] == x, axis=(1, 2, 3)))
    assert abs(float(built.x[len(x) :].mean()) - float(x.mean())) < 0.1 * float(x.std())


def test_augment_copies_keep_their_source_label_munge_inputs_have_none(train):
    x, y = train
    augmented = make_transfer("augment", transfer_size="3x").build(x, y, seed=0)
    new_labels = augmented.y[len(x) :]
    np.testing.assert_array_equal(new_labels, y[copy_sources(len(x), 2 * len(x))])
    np.testing.assert_array_equal(new_labels, np.tile(y, 2))  # each sample's copies, in order, like its originals
    assert augmented.y.dtype == np.int64 and np.all(augmented.y >= 0)
    munged = make_transfer("munge", transfer_size="2x").build(x, y, seed=0)
    np.testing.assert_array_equal(munged.y[: len(x)], y)
    assert np.all(munged.y[len(x) :] == UNLABELED)


def test_same_seed_same_set_other_seed_other_set(train):
    x, y = train
    transfer = make_transfer("augment", transfer_size="2x")
    a, b, c = (transfer.build(x, y, seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.x, b.x)
    assert a.info["fingerprint"] == b.info["fingerprint"] != c.info["fingerprint"]


def test_augment_shifts_images_by_at_most_one_pixel_and_adds_small_noise(train):
    x, y = train
    built = make_transfer("augment", transfer_size="2x").build(x[:200], y[:200], seed=0)
    original, copy = x[:200], built.x[200:]
    noise_std = 0.1 * float(x.std())
    # the best of the 9 shifts of each original explains its copy up to the noise
    padded = np.pad(original, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    best = np.min(
        [
            np.abs(padded[:, :, 1 + dy : 9 + dy, 1 + dx : 9 + dx] - copy).mean(axis=(1, 2, 3))
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        ],
        axis=0,
    )
    assert np.all(best < 3 * noise_std)


def test_augment_on_feature_vectors_only_adds_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 6)).astype(np.float32)
    built = make_transfer("augment", transfer_size="2x").build(x, np.zeros(100, np.int64), seed=0)
    diff = built.x[100:] - x
    assert 0.05 < float(diff.std()) < 0.15  # 0.1 of each feature's std of ~1


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_munge_changes_each_attribute_with_probability_p(p):
    """On continuous data every attribute differs from its neighbour's, so a swap always changes the value."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 12)).astype(np.float32)
    built = make_transfer("munge", transfer_size="3x", munge_p=p).build(x, np.zeros(400, np.int64), seed=0)
    source = np.arange(800) % 400
    changed = ~np.isclose(built.x[400:], x[source], atol=1e-6)
    assert changed.mean() == pytest.approx(p, abs=0.02)


def test_munge_draws_around_the_nearest_neighbour():
    # two far-apart pairs: every sample's neighbour is its twin, so swapped values land near the twin's
    x = np.array([[0.0, 0.0], [1.0, 1.0], [100.0, 100.0], [101.0, 101.0]], np.float32)
    built = make_transfer("munge", transfer_size="51x", munge_p=1.0, munge_s=10.0).build(x, np.zeros(4, int), seed=0)
    new = built.x[4:].reshape(-1, 4, 2)  # copy k of sample i at [k, i]
    twins = x[[1, 0, 3, 2]]
    assert np.all(np.abs(new - twins).mean(axis=0) < 0.3)


def test_pool_adds_its_inputs_checks_shape_and_drops_held_out_rows(tmp_path, train, digits):
    x, y = train
    x_val, _ = digits.split("val")
    rng = np.random.default_rng(0)
    extra = rng.uniform(0, 16, size=(300, *x.shape[1:])).astype(np.float32)
    path = tmp_path / "pool.npz"
    np.savez(path, x=np.concatenate([extra, x_val[:5]]))  # 5 validation inputs slipped in
    built = make_transfer("pool", pool=path).build(x, y, seed=0, held_out=(x_val,))
    assert built.info["generated"] == 300 and np.all(built.y[len(x) :] == UNLABELED)
    np.testing.assert_array_equal(built.x[len(x) :], extra)

    sized = make_transfer("pool", pool=path, transfer_size="1.1x").build(x, y, seed=0, held_out=(x_val,))
    assert sized.info["generated"] == round(0.1 * len(x))
    with pytest.raises(DataError, match="smaller --transfer-size or a larger pool"):
        make_transfer("pool", pool=path, transfer_size="2x").build(x, y, seed=0)

    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros((10, 64), np.float32))
    with pytest.raises(DataError, match=r"shape \(64,\).*\(1, 8, 8\)"):
        make_transfer("pool", pool=wrong).build(x, y, seed=0)
    unnamed = tmp_path / "unnamed.npz"
    np.savez(unnamed, inputs=extra)
    with pytest.raises(DataError, match="no array 'x'"):
        make_transfer("pool", pool=unnamed).build(x, y, seed=0)


@pytest.mark.parametrize(
    ("kind", "options", "expected"),
    [
        ("cutout", {}, "unknown --transfer 'cutout'"),
        ("augment", {"munge_p": 0.3}, "--munge-p does not apply to --transfer augment"),
        ("augment", {"transfer_size": "lots"}, "such as 5x"),
        ("augment", {"transfer_size": "0.5x"}, "--transfer-size"),
        ("train", {"transfer_size": "5x"}, "training split itself"),
        ("munge", {"munge_p": 1.5}, "--munge-p"),
        ("munge", {"munge_s": 0}, "--munge-s"),
        ("pool", {}, "--pool"),
        ("pool", {"pool": "/nonexistent/x.npz"}, "--pool"),
    ],
)
def test_bad_transfer_options_name_the_option(kind, options, expected):
    with pytest.raises(OptionError, match=expected):
        make_transfer(kind, **options)


class CountingTeacher:
    """A teacher that counts the rows it is asked about (to see the transfer targets computed once, in batches)."""

    def __init__(self, teacher):
        self.inner, self.rows, self.calls = teacher, 0, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def logits(self, x):
        self.rows += len(x)
        self.calls.append(len(x))
        return self.inner.logits(x)


def test_fit_run_uses_the_transfer_set_and_caches_its_targets(tmp_path, digits, teacher_run):
    from kdedge.teachers import load_teacher

    teacher = CountingTeacher(load_teacher(teacher_run.path))
    transfer = make_transfer("augment", transfer_size="3x")
    kwargs = dict(
        out=tmp_path / "gbdt",
        kind="student",
        family="gbdt",
        options={"n_estimators": 10, "num_leaves": 4},
        method=make_method("softmax", temperature=1.0),
        dataset=digits,
        data_source="digits",
        seed=0,
        teacher=teacher,
        transfer=transfer,
    )
    run = fit_run(**kwargs)
    n_train = digits.describe()["sizes"]["train"]
    assert run.manifest.transfer["kind"] == "augment"
    assert run.manifest.transfer["size"] == run.manifest.metrics["transfer_samples"] == 3 * n_train
    assert set(run.manifest.compute["teacher_outputs"]) == {"transfer", "val"}
    assert max(teacher.calls) <= 2048  # in batches
    first = teacher.rows
    again = fit_run(**kwargs, overwrite=True)
    assert again.manifest.compute["teacher_outputs"]["transfer"]["reused"] is True
    # the transfer set and val come from the cache; only the test split's agreement asks the teacher again
    assert teacher.rows - first == digits.describe()["sizes"]["test"]


def test_hard_method_refuses_inputs_without_labels(tmp_path, digits):
    with pytest.raises(OptionError, match="learns from labels only.*use --transfer train or augment"):
        fit_run(
            out=tmp_path / "x",
            kind="student",
            family="tree",
            options={},
            method=make_method("hard"),
            dataset=digits,
            data_source="digits",
            seed=0,
            transfer=make_transfer("munge"),
        )
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("family", "options"),
    [
        ("svm", {"C": 10.0}),
        ("forest", {"n_estimators": 5}),
        ("gbdt", {"n_estimators": 5, "num_leaves": 4}),
        ("tree", {"max_depth": 8}),
    ],
)
def test_hard_baselines_fit_on_every_row_of_an_augmented_set(tmp_path, digits, monkeypatch, family, options):
    """SVC, random forest, LightGBM and tree classifiers see the labelled copies, not just the training split."""
    from kdedge.students import student_class

    cls = student_class(family)
    seen = []
    original = cls.fit_classifier

    def recording(self, x, y, seed):
        seen.append((len(x), np.bincount(y, minlength=10)))
        return original(self, x, y, seed)

    monkeypatch.setattr(cls, "fit_classifier", recording)
    run = fit_run(
        out=tmp_path / family,
        kind="student",
        family=family,
        options=options,
        method=make_method("hard"),
        dataset=digits,
        data_source="digits",
        seed=0,
        transfer=make_transfer("augment", transfer_size="2x"),
    )
    _, y_train = digits.split("train")
    [(rows, counts)] = seen
    assert rows == 2 * len(y_train) == run.manifest.transfer["size"]
    np.testing.assert_array_equal(counts, 2 * np.bincount(y_train, minlength=10))
    assert run.manifest.metrics["test_accuracy"] > 0.7


def test_neural_students_learn_from_an_augmented_set(tmp_path, digits, teacher_run):
    from kdedge.teachers import load_teacher

    run = fit_run(
        out=tmp_path / "mlp",
        kind="student",
        family="mlp",
        options={"hidden": (32,), "epochs": 3, "patience": 3},
        method=make_method("kd", temperature=4.0, alpha=0.9),
        dataset=digits,
        data_source="digits",
        seed=0,
        teacher=load_teacher(teacher_run.path),
        transfer=make_transfer("augment", transfer_size="2x"),
    )
    assert run.manifest.transfer["generated"] == digits.describe()["sizes"]["train"]
    assert run.manifest.metrics["test_accuracy"] > 0.5


def test_cli_hard_baseline_on_an_augmented_set(tmp_path):
    import json

    from typer.testing import CliRunner

    from kdedge.cli import app

    out = tmp_path / "tree"
    args = ["distill", "--data", "digits", "--student", "tree", "--method", "hard", "--max-depth", "8"]
    result = CliRunner().invoke(app, [*args, "--transfer", "augment", "--transfer-size", "2x", "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "kdedge.json").read_text())
    assert manifest["method"]["name"] == "hard" and manifest["transfer"]["generated"] == 1069
    assert manifest["metrics"]["transfer_samples"] == 2 * 1069
