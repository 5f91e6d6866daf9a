"""`--features spectrum`: the fixed |DFT| map in front of non-neural students — its values, its shift invariance, and
the path through distill, export (parity) and the C refusal, as a user types it."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from test_hard_task_cli import SMALL, kdedge, shift_teacher  # noqa: F401  (the module's teacher fixture)

from kdedge.errors import DataError, OptionError
from kdedge.feature_maps import feature_map


def test_spectrum_is_the_dft_magnitude_of_each_channel():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(40, 3, 10, 7)).astype(np.float32)
    mapped = feature_map("spectrum", (3, 10, 7))(images.reshape(40, -1))
    expected = np.abs(np.fft.rfft2(images.astype(np.float64), axes=(-2, -1))).reshape(40, -1)
    assert mapped.shape == (40, 3 * 10 * 4)
    np.testing.assert_allclose(mapped, expected, rtol=1e-4, atol=1e-4)

    sequences = rng.normal(size=(40, 2, 9)).astype(np.float32)
    mapped = feature_map("spectrum", (2, 9))(sequences.reshape(40, -1))
    expected = np.abs(np.fft.rfft(sequences.astype(np.float64), axis=-1)).reshape(40, -1)
    np.testing.assert_allclose(mapped, expected, rtol=1e-4, atol=1e-4)


def test_spectrum_does_not_move_when_the_image_does():
    image = np.zeros((1, 1, 16, 16), np.float32)
    image[0, 0, 2:7, 3:6] = np.arange(15, dtype=np.float32).reshape(5, 3)
    moved = np.roll(image, (4, 5), axis=(2, 3))  # the shape moved on its empty background
    m = feature_map("spectrum", (1, 16, 16))
    np.testing.assert_allclose(m(moved.reshape(1, -1)), m(image.reshape(1, -1)), rtol=1e-5, atol=1e-4)
    assert not np.allclose(moved, image)


def test_map_is_computed_the_same_in_any_batch():
    """Fitting sees whole transfer sets, export and bench single rows: the values must not depend on the batch."""
    x = np.random.default_rng(1).normal(size=(300, 64)).astype(np.float32)
    m = feature_map("spectrum", (1, 8, 8))
    whole = m(x)
    assert all(np.array_equal(m(x[i : i + 1]), whole[i : i + 1]) for i in range(0, 300, 37))


def test_vectors_and_unknown_maps_are_refused_in_one_line():
    with pytest.raises(DataError, match="images .* or sequences .*--features raw"):
        feature_map("spectrum", (64,))
    with pytest.raises(OptionError, match="choose from raw, spectrum"):
        feature_map("wavelet", (1, 8, 8))


def test_spectrum_forest_distills_exports_with_parity_and_refuses_c(shift_teacher, tmp_path):  # noqa: F811
    out = tmp_path / "forest"
    r = kdedge(
        "distill", "--teacher", shift_teacher, "--student", "forest", "--features", "spectrum",
        "--n-estimators", 5, "--max-depth", 8, "--method", "logits", "--out", out,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "kdedge.json").read_text())
    assert manifest["student"]["params"]["features"] == "spectrum"
    assert json.loads((out / "nonneural.json").read_text())["n_features"] == 16 * 9  # 16 x 16 canvas -> 16 x 9

    r = kdedge("export", out)
    assert r.exit_code == 0, r.output
    assert "labels 100.00%" in r.output
    graph = onnx.load(out / "model.onnx")
    assert {"MatMul", "Sqrt"} <= {node.op_type for node in graph.graph.node}

    r = kdedge("export", out, "--target", "c")
    assert r.exit_code == 2 and "--features spectrum" in r.output and "--features raw" in r.output
    assert not (out / "c").exists()


def test_vector_data_with_spectrum_ends_in_one_line(tmp_path):
    data = tmp_path / "table.csv"
    rng = np.random.default_rng(0)
    rows = np.hstack([rng.normal(size=(60, 4)), rng.integers(0, 2, size=(60, 1))])
    np.savetxt(data, rows, delimiter=",", header="a,b,c,d,label", comments="")
    r = kdedge(
        "distill", "--data", data, "--student", "forest", "--features", "spectrum", "--method", "hard",
        "--out", tmp_path / "f",
    )  # fmt: skip
    assert r.exit_code == 2 and "--features raw" in r.output
    assert not (tmp_path / "f").exists()


def test_search_space_offers_spectrum_only_where_the_data_can_take_it():
    from kdedge.budget_search.space import DEFAULT_SPACE, fit_to_data

    assert all("spectrum" in DEFAULT_SPACE[f]["features"] for f in ("svm", "forest", "gbdt", "tree"))
    images = fit_to_data(DEFAULT_SPACE, (1, 8, 8))
    vectors = fit_to_data(DEFAULT_SPACE, (64,))
    assert images["forest"]["features"] == ["raw", "spectrum"]
    assert vectors["forest"]["features"] == ["raw"] and vectors["mlp"] == DEFAULT_SPACE["mlp"]
    assert DEFAULT_SPACE["forest"]["features"] == ["raw", "spectrum"]  # the default itself is left alone


def test_spectrum_values_keep_20_significant_bits_so_split_midpoints_fit_float32():
    """Tree learners split at midpoints computed in float64; with 20-bit values every midpoint is a float32."""
    x = (np.random.default_rng(2).normal(size=(500, 1, 8, 8)) * 1e4).astype(np.float32)
    mapped = feature_map("spectrum", (1, 8, 8))(x.reshape(500, -1)).astype(np.float64)
    mantissa, _ = np.frexp(mapped[mapped > 0])
    assert np.array_equal(mantissa * 2**20, np.round(mantissa * 2**20))
    values = np.unique(mapped)
    midpoints = (values[1:] + values[:-1]) / 2
    assert np.array_equal(midpoints.astype(np.float32).astype(np.float64), midpoints)
