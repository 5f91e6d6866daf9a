"""Dataset loading, splitting and validation."""

import numpy as np
import pytest

from kdedge.data import load_dataset
from kdedge.errors import DataError


def test_digits_is_sklearns_digits_with_fixed_stratified_splits():
    from sklearn.datasets import load_digits

    d = load_dataset("digits", seed=0)
    ref = load_digits()
    assert d.sample_shape == (1, 8, 8) and d.layout == "image" and d.n_classes == 10
    np.testing.assert_array_equal(d.x.reshape(len(d.x), -1), ref.data.astype(np.float32))
    np.testing.assert_array_equal(d.y, ref.target)
    sizes = {s: len(d.split(s)[0]) for s in ("train", "val", "test")}
    assert sum(sizes.values()) == 1797 and sizes["test"] == pytest.approx(0.3 * 1797, abs=10)
    idx = np.concatenate([d.train_idx, d.val_idx, d.test_idx])
    assert len(np.unique(idx)) == len(idx) == 1797  # disjoint and complete
    for split in ("train", "val", "test"):  # stratified: every class in every split
        assert set(d.split(split)[1]) == set(range(10))


def test_same_seed_same_split_other_seed_other_split():
    a, b, c = (load_dataset("digits", seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.test_idx, b.test_idx)
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert not np.array_equal(a.test_idx, c.test_idx)


def test_normalization_comes_from_the_train_split():
    d = load_dataset("digits", seed=0)
    x_train, _ = d.split("train")
    assert d.normalization.mean.ravel()[0] == pytest.approx(x_train.mean(), rel=1e-5)
    assert d.normalization.apply(x_train).std() == pytest.approx(1.0, rel=1e-3)


def _npz(tmp_path, **arrays):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return str(path)


def test_npz_with_sequences_and_class_names(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 2, 16)).astype(np.float32)
    y = np.repeat(np.arange(3), 20)
    d = load_dataset(_npz(tmp_path, x=x, y=y, class_names=np.array(["a", "b", "c"])))
    assert d.layout == "sequence" and d.class_names == ["a", "b", "c"] and d.sample_shape == (2, 16)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((30, 4)), "y": np.zeros(29)}, "29 labels for 30 inputs"),
        ({"x": np.zeros(30), "y": np.zeros(30)}, "expected \\(N, D\\)"),
        ({"x": np.full((30, 4), np.nan), "y": np.repeat(np.arange(3), 10)}, "NaN/Inf"),
        ({"x": np.zeros((30, 4)), "y": np.repeat([0, 1, -1], 10)}, "negative label"),
        ({"x": np.zeros((30, 4)), "y": np.repeat([0.0, 1.5, 2.0], 10)}, "whole numbers"),
        (
            {"x": np.zeros((30, 4)), "y": np.repeat(np.arange(3), 10), "class_names": np.array(["a", "b"])},
            "2 class names",
        ),
        ({"x": np.zeros((30, 4))}, "missing array"),
        ({"x": np.zeros((4, 4)), "y": np.array([0, 0, 1, 1])}, "at least 3"),
    ],
)
def test_bad_npz_gives_one_clear_error(tmp_path, arrays, message):
    with pytest.raises(DataError, match=message):
        load_dataset(_npz(tmp_path, **arrays))


def test_file_that_is_not_an_npz(tmp_path):
    path = tmp_path / "fake.npz"
    path.write_text("not a zip")
    with pytest.raises(DataError, match="not a valid .npz"):
        load_dataset(str(path))


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(
        path, x=np.zeros((30, 2)), y=np.repeat(np.arange(3), 10), class_names=np.array([1, "b", None], dtype=object)
    )
    with pytest.raises(DataError, match="pickle"):
        load_dataset(str(path))


def test_unknown_name():
    with pytest.raises(DataError, match="not a built-in"):
        load_dataset("imagenet")
