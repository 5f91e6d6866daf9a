"""Readers for user data: each format written here by hand, read back, and broken in the ways users break it."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import struct

import numpy as np
import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.data import READERS, load_dataset
from kdedge.errors import DataError, OptionError

rng = np.random.default_rng(0)


def _labels(n_classes=3, per_class=4):
    return np.repeat(np.arange(n_classes), per_class)


# ---------------------------------------------------------------- .npy pair


def test_npy_pair_beside_and_comma_forms(tmp_path):
    x = rng.standard_normal((12, 2, 5)).astype(np.float32)
    np.save(tmp_path / "train_x.npy", x)
    np.save(tmp_path / "train_y.npy", np.array(["dog", "cat", "eel"] * 4))
    d = load_dataset(str(tmp_path / "train_x.npy"))
    assert d.sample_shape == (2, 5) and d.layout == "sequence" and d.class_names == ["cat", "dog", "eel"]
    assert d.origin["format"] == "npy"
    np.save(tmp_path / "labels.npy", _labels())
    d2 = load_dataset(f"{tmp_path / 'train_x.npy'},{tmp_path / 'labels.npy'}")
    assert d2.class_names == ["0", "1", "2"] and "," in d2.origin["source"]
    # the recorded origin loads the same data again
    again = load_dataset(d2.origin["source"], seed=0, fmt=d2.origin["format"], **d2.origin["options"])
    assert again.fingerprint == d2.fingerprint


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.zeros(12), _labels(), "expected \\(N, D\\)"),
        (np.full((12, 3), np.inf), _labels(), "NaN/Inf"),
        (np.zeros((12, 3)), _labels() + 5, "at least 3"),  # labels 5..7 leave classes 0..4 empty
        (np.zeros((12, 3)), _labels()[:-1], "11 labels for 12 inputs"),
    ],
)
def test_npy_pair_validation(tmp_path, x, y, message):
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    with pytest.raises(DataError, match=message):
        load_dataset(str(tmp_path / "x.npy"))


def test_npy_missing_labels_and_truncated_file(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((12, 3)))
    with pytest.raises(DataError, match="no such labels file"):
        load_dataset(str(tmp_path / "x.npy"))
    np.save(tmp_path / "y.npy", _labels())
    data = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "x.npy").write_bytes(data[:-20])
    with pytest.raises(DataError, match="truncated"):
        load_dataset(str(tmp_path / "x.npy"))


# ---------------------------------------------------------------- CSV


def _write_csv(path, rows):
    path.write_text("\n".join(",".join(str(c) for c in r) for r in rows) + "\n")
    return str(path)


def test_csv_with_header_and_named_labels(tmp_path):
    rows = [["a", "species", "b"]] + [[i, ["iris", "rose", "lily"][i % 3], i * 0.5] for i in range(12)]
    d = load_dataset(_write_csv(tmp_path / "flowers.csv", rows), label_column="species")
    assert d.sample_shape == (2,) and d.class_names == ["iris", "lily", "rose"]
    np.testing.assert_array_equal(d.x[:, 0], np.arange(12))
    assert d.origin["options"] == {"label_column": "species"}


def test_csv_without_header_label_by_index_and_tsv(tmp_path):
    rows = [[i % 3, i, -i] for i in range(12)]
    d = load_dataset(_write_csv(tmp_path / "plain.csv", rows), label_column=0)
    assert d.sample_shape == (2,) and d.class_names == ["0", "1", "2"] and len(d.x) == 12
    (tmp_path / "t.tsv").write_text("\n".join(f"{i}\t{i * 2}\t{i % 3}" for i in range(12)))
    assert load_dataset(str(tmp_path / "t.tsv")).sample_shape == (2,)  # default: last column


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("1,2,0\n3,4,1\n5,6\n", {}, "line 3 has 2 fields but line 1 has 3.*ragged"),
        ("1,2,0\n3,,1\n", {}, "line 2, column 1: a missing value"),
        ("1,2,0\n3,x,1\n", {}, "'x' is not a number"),
        ("1,nan,0\n" * 3 + "1,2,1\n" * 3, {}, "NaN/Inf values \\(first at line 1"),
        ("1,2,0\n", {"label_column": "kind"}, "no header row"),
        ("a,b,kind\n1,2,0\n", {"label_column": "type"}, "no column named 'type'"),
        ("1,2,0\n", {"label_column": 7}, "outside the 3 columns"),
        ("1,2,0\n1,2,-1\n", {}, "negative label"),
        ("a,b\n", {}, "a header and no data rows"),
        ("", {}, "no rows"),
    ],
)
def test_csv_validation(tmp_path, text, options, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        load_dataset(str(path), **options)


def test_reader_options_are_validated(tmp_path):
    path = _write_csv(tmp_path / "ok.csv", [[i, i % 3] for i in range(12)])
    with pytest.raises(OptionError, match="--image-size does not apply to --format csv.*--label-column"):
        load_dataset(path, image_size=28)
    with pytest.raises(OptionError, match="--header='maybe'.*true or false"):
        load_dataset(path, header="maybe")
    with pytest.raises(OptionError, match="does not apply to the built-in data set 'digits'"):
        load_dataset("digits", label_column=0)
    assert {"npz", "npy", "csv", "images", "cifar", "idx"} <= set(READERS)


# ---------------------------------------------------------------- image folders


def _image_folder(root, sizes=((6, 5),), mode="L", per_class=4):
    from PIL import Image

    for c, name in enumerate(["ant", "bee", "cow"]):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            w, h = sizes[i % len(sizes)]
            pixels = np.full((h, w, 3) if mode == "RGB" else (h, w), 40 * c + i, np.uint8)
            Image.fromarray(pixels, mode).save(root / name / f"{i}.png")
    return root


def test_image_folder_grayscale_rgb_and_resize(tmp_path):
    d = load_dataset(str(_image_folder(tmp_path / "gray")))
    assert d.origin["format"] == "images" and d.sample_shape == (1, 5, 6) and d.class_names == ["ant", "bee", "cow"]
    assert d.x[d.y == 2].min() == 80  # pixel values kept as stored
    rgb = _image_folder(tmp_path / "rgb", sizes=((6, 5), (9, 7)), mode="RGB")
    with pytest.raises(DataError, match="images differ in size.*--image-size"):
        load_dataset(str(rgb))
    d = load_dataset(str(rgb), image_size="4x3")
    assert d.sample_shape == (3, 4, 3)
    d = load_dataset(str(rgb), image_size=8, image_channels=1)
    assert d.sample_shape == (1, 8, 8)
    with pytest.raises(OptionError, match="1 \\(grayscale\\) or 3"):
        load_dataset(str(rgb), image_size=8, image_channels=2)


def test_image_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty folder"):
        load_dataset(str(tmp_path / "empty"))
    with pytest.raises(DataError, match="empty folder"):
        load_dataset(str(tmp_path / "empty"), fmt="images")
    root = _image_folder(tmp_path / "imgs")
    (root / "dog").mkdir()
    with pytest.raises(DataError, match="\\['dog'\\] hold no images"):
        load_dataset(str(root))
    (root / "dog").rmdir()
    png = root / "bee" / "0.png"
    png.write_bytes(png.read_bytes()[:30])
    with pytest.raises(DataError, match="0.png: .*(decode|readable)"):
        load_dataset(str(root))


def test_image_folder_without_pillow_names_the_extra(tmp_path, monkeypatch):
    import sys

    from kdedge.errors import MissingExtraError

    root = _image_folder(tmp_path / "imgs")
    monkeypatch.setitem(sys.modules, "PIL", None)  # None in sys.modules makes the import fail
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(MissingExtraError, match="kdedge\\[train\\]"):
        load_dataset(str(root), fmt="images")


# ---------------------------------------------------------------- CIFAR python batches


def _cifar_batch(n, seed, protocol=2, label_key="labels"):
    r = np.random.default_rng(seed)
    labels = (np.arange(n) % 3).tolist()
    content = {
        b"batch_label": b"training batch",
        label_key.encode(): labels,
        b"data": r.integers(0, 256, (n, 3 * 4 * 4), dtype=np.uint8),
        b"filenames": [f"img{i}.png".encode() for i in range(n)],
    }
    return pickle.dumps(content, protocol=protocol)


def _py2_cifar_batch(data: np.ndarray, labels: list[int]) -> bytes:
    """A batch exactly as Python 2's cPickle wrote CIFAR (protocol 2, py2 str, numpy.core paths)."""

    def s(text: bytes) -> bytes:  # SHORT_BINSTRING
        return b"U" + bytes([len(text)]) + text

    def i4(v: int) -> bytes:  # BININT
        return b"J" + struct.pack("<i", v)

    array = (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        + b"K\x00\x85"
        + s(b"b")
        + b"\x87R(K\x01"
        + i4(data.shape[0])
        + i4(data.shape[1])
        + b"\x86cnumpy\ndtype\n"
        + s(b"u1")
        + b"\x89\x88\x87R(K\x03"
        + s(b"|")
        + b"NNN"
        + i4(-1)
        + i4(-1)
        + b"K\x00tb\x89"
        + b"T"
        + struct.pack("<I", data.nbytes)
        + data.tobytes()
        + b"tb"
    )
    label_list = b"](" + b"".join(b"K" + bytes([v]) for v in labels) + b"e"
    return b"\x80\x02}(" + s(b"data") + array + s(b"labels") + label_list + b"u."


def test_cifar_folder_single_batch_and_python2_pickle(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(_cifar_batch(9, 1))
    (folder / "data_batch_2").write_bytes(_cifar_batch(9, 2, protocol=4))
    (folder / "test_batch").write_bytes(_cifar_batch(6, 3))
    names = {b"label_names": [b"airplane", b"automobile", b"bird"], b"num_vis": 48}
    (folder / "batches.meta").write_bytes(pickle.dumps(names, protocol=2))
    d = load_dataset(str(folder))
    assert d.origin["format"] == "cifar" and len(d.x) == 24 and d.sample_shape == (3, 4, 4)
    assert d.class_names == ["airplane", "automobile", "bird"]
    one = load_dataset(str(folder / "data_batch_1"))
    raw = pickle.loads(_cifar_batch(9, 1))[b"data"]
    np.testing.assert_array_equal(one.x, raw.reshape(9, 3, 4, 4).astype(np.float32))

    py2 = tmp_path / "py2" / "data_batch_1"
    py2.parent.mkdir()
    data = np.arange(9 * 48, dtype=np.uint8).reshape(9, 48)
    py2.write_bytes(_py2_cifar_batch(data, [0, 1, 2] * 3))
    d = load_dataset(str(py2))
    np.testing.assert_array_equal(d.x.reshape(9, 48), data)
    np.testing.assert_array_equal(d.y, [0, 1, 2] * 3)


def test_cifar100_coarse_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for name in ("train", "test"):
        content = pickle.loads(_cifar_batch(9, 1, label_key="fine_labels"))
        content[b"coarse_labels"] = [0, 1] * 4 + [1]
        (folder / name).write_bytes(pickle.dumps(content, protocol=2))
    meta = {b"fine_label_names": [b"apple", b"bee", b"cat"], b"coarse_label_names": [b"fruit", b"animal"]}
    (folder / "meta").write_bytes(pickle.dumps(meta, protocol=2))
    assert load_dataset(str(folder)).class_names == ["apple", "bee", "cat"]
    assert load_dataset(str(folder), label_column="coarse_labels").class_names == ["fruit", "animal"]


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("kind", ["os.system", "object array", "other class"])
def test_cifar_refuses_anything_but_plain_data(tmp_path, kind):
    marker = tmp_path / "pwned"
    payload = {
        "os.system": {b"data": _Evil(marker), b"labels": [0]},
        "object array": {b"data": np.array([1, "x", None], dtype=object), b"labels": [0, 1, 2]},
        "other class": {b"data": __import__("collections").OrderedDict(), b"labels": []},
    }[kind]
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(DataError, match="refused to unpickle.*(not allowed|refusing)"):
        load_dataset(str(path))
    assert not marker.exists()  # nothing ran


def test_cifar_truncated_and_wrong_content(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(_cifar_batch(9, 1)[:200])
    with pytest.raises(DataError, match="truncated or damaged pickle"):
        load_dataset(str(path))
    path.write_bytes(pickle.dumps({b"data": np.zeros((9, 47), np.uint8), b"labels": [0] * 9}, protocol=2))
    with pytest.raises(DataError, match="not 3 square colour planes|CIFAR stores"):
        load_dataset(str(path))
    path.write_bytes(pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(DataError, match="holds a list, not a CIFAR batch"):
        load_dataset(str(path))


# ---------------------------------------------------------------- MNIST IDX


def _idx(array: np.ndarray, type_byte: int = 0x08) -> bytes:
    header = bytes([0, 0, type_byte, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _mnist(folder, prefix, n, gz):
    images = rng.integers(0, 256, (n, 5, 4), dtype=np.uint8)
    labels = (np.arange(n) % 3).astype(np.uint8)
    suffix = ".gz" if gz else ""
    write = gzip.compress if gz else (lambda b: b)
    (folder / f"{prefix}-images-idx3-ubyte{suffix}").write_bytes(write(_idx(images)))
    (folder / f"{prefix}-labels-idx1-ubyte{suffix}").write_bytes(write(_idx(labels)))
    return images


def test_idx_gzipped_plain_and_folder(tmp_path):
    train = _mnist(tmp_path, "train", 12, gz=True)
    _mnist(tmp_path, "t10k", 9, gz=False)
    d = load_dataset(str(tmp_path / "train-images-idx3-ubyte.gz"))
    assert d.origin["format"] == "idx" and d.sample_shape == (1, 5, 4) and len(d.x) == 12
    np.testing.assert_array_equal(d.x[:, 0], train)
    assert len(load_dataset(str(tmp_path)).x) == 21


def test_idx_truncated_bad_magic_and_mismatch(tmp_path):
    _mnist(tmp_path, "train", 12, gz=False)
    images = tmp_path / "train-images-idx3-ubyte"
    full = images.read_bytes()
    images.write_bytes(full[:-7])
    with pytest.raises(DataError, match="truncated or damaged"):
        load_dataset(str(images))
    images.write_bytes(b"\x01\x02" + full[2:])
    with pytest.raises(DataError, match="not an IDX file"):
        load_dataset(str(images))
    images.write_bytes(full)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(np.zeros(11, np.uint8)))
    with pytest.raises(DataError, match="labels for 12 images"):
        load_dataset(str(images))
    gz = tmp_path / "g" / "train-images-idx3-ubyte.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress(full)[:-10])
    with pytest.raises(DataError, match="truncated or damaged gzip"):
        load_dataset(str(gz))


# ---------------------------------------------------------------- the CLI records and reuses reader options


def test_cli_teacher_train_on_csv_records_reader_options(tmp_path):
    from kdedge.runs import Run

    lines = ["f1;kind;f2"] + [f"{i % 3 + rng.normal(0, 0.1):.3f};{'abc'[i % 3]};{i % 3}" for i in range(60)]
    path = tmp_path / "semi.csv"
    path.write_text("\n".join(lines))
    out = tmp_path / "run"
    args = ["teacher", "train", "--data", path, "--label-column", "kind", "--arch", "mlp", "--out", out]
    r = CliRunner().invoke(app, [str(a) for a in [*args, "--epochs", 2, "--patience", 2]])
    assert r.exit_code == 0, r.output
    spec = json.loads((out / "kdedge.json").read_text())["data"]
    assert spec["format"] == "csv" and spec["reader_options"] == {"label_column": "kind"}
    assert spec["class_names"] == ["a", "b", "c"]
    assert Run.load(out).dataset().fingerprint == spec["fingerprint"]
    # errors in user data: one line on stderr, exit 2
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,0\n3,4\n")
    r = CliRunner().invoke(app, ["teacher", "train", "--data", str(bad), "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "ragged" in r.output and "Traceback" not in r.output
