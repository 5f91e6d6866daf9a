"""The shared teacher-output cache (memory-mapped, by fingerprint, capped, safe with several writers); chunked
hashing and streaming rows."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

from kdedge.data import fingerprint_arrays
from kdedge.data.ondisk import StreamingRows, iter_row_chunks, open_rows, release_pages
from kdedge.distillation.targets import teacher_logits
from kdedge.errors import DataError
from kdedge.target_cache import TargetCache


class CountingTeacher:
    """A linear 'teacher' that counts the rows it is asked about."""

    def __init__(self, n_features=6, n_classes=3, seed=0, width=None):
        self.weights = np.random.default_rng(seed).standard_normal((n_features, n_classes)).astype(np.float32)
        self.name = f"linear{seed}"
        self.fingerprint = f"linear-{seed}"
        self.n_classes = n_classes
        self.width = width or n_classes
        self.rows_seen = 0

    def logits(self, x):
        self.rows_seen += len(x)
        return (np.asarray(x, np.float32).reshape(len(x), -1) @ self.weights)[:, : self.width]


def test_logits_are_written_memory_mapped_and_reused(tmp_path):
    cache = TargetCache(tmp_path / "cache")
    x = np.random.default_rng(1).standard_normal((1000, 6)).astype(np.float32)
    teacher = CountingTeacher()
    first = teacher_logits(teacher, x, "train", cache, batch_size=128)
    assert isinstance(first.logits, np.memmap) and first.logits.shape == (1000, 3) and not first.reused
    np.testing.assert_allclose(first.logits, x @ teacher.weights, rtol=1e-6)
    assert teacher.rows_seen == 1000
    meta = json.loads((tmp_path / "cache" / f"{first.entry}.json").read_text())
    assert meta == {
        "teacher": "linear-0",
        "teacher_name": "linear0",
        "inputs": fingerprint_arrays(x),
        "shape": [1000, 3],
    }

    again = teacher_logits(teacher, x.copy(), "val", cache)  # same inputs, same teacher: no teacher call
    assert teacher.rows_seen == 1000 and again.reused and again.entry == first.entry
    np.testing.assert_array_equal(again.logits, first.logits)
    again.logits[0, 0] = 123.0  # copy-on-write: the caller may edit, the cache does not change
    assert np.load(tmp_path / "cache" / f"{first.entry}.npy")[0, 0] != 123.0

    x[5, 0] += 1  # other inputs: recomputed
    teacher_logits(teacher, x, "train", cache)
    assert teacher.rows_seen == 2000
    other = CountingTeacher(seed=2)  # another teacher: recomputed
    teacher_logits(other, x, "train", cache)
    assert other.rows_seen == 1000
    assert len(cache.entries()) == 3


def test_cache_is_shared_across_run_folders_through_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KDEDGE_CACHE_DIR", str(tmp_path / "shared"))
    x = np.ones((50, 6), np.float32)
    teacher = CountingTeacher()
    assert not teacher_logits(teacher, x, "val").reused
    assert teacher_logits(teacher, x, "val").reused and teacher.rows_seen == 50
    assert [e.meta["shape"] for e in TargetCache().entries()] == [[50, 3]]
    assert TargetCache().folder == tmp_path / "shared" / "targets"


def test_clear_removes_only_kdedges_entries(tmp_path):
    cache = TargetCache(tmp_path)
    teacher_logits(CountingTeacher(), np.ones((5, 6), np.float32), "val", cache)
    (tmp_path / "notes.json").write_text('{"teacher": "mine"}')  # a user's file in the same folder
    (tmp_path / "notes.npy").write_bytes(b"mine")
    assert len(cache.clear()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.json", "notes.npy"]


def test_damaged_entry_is_a_miss_and_is_rewritten(tmp_path):
    cache = TargetCache(tmp_path)
    x = np.ones((20, 6), np.float32)
    teacher = CountingTeacher()
    entry = teacher_logits(teacher, x, "train", cache).entry
    (tmp_path / f"{entry}.npy").write_bytes(b"\x93NUMPY truncated")
    again = teacher_logits(teacher, x, "train", cache)
    assert not again.reused and teacher.rows_seen == 40
    np.testing.assert_allclose(again.logits, x @ teacher.weights, rtol=1e-6)


def test_size_cap_drops_least_recently_used_but_never_the_new_entry(tmp_path, monkeypatch):
    cache = TargetCache(tmp_path)
    teacher = CountingTeacher()
    rows = [np.full((1000, 6), i, np.float32) for i in range(3)]  # 12 KB of logits each
    keys = [teacher_logits(teacher, x, "train", cache).entry for x in rows[:2]]
    os.utime(tmp_path / f"{keys[1]}.json", (1, 1))  # the second entry: used long ago
    monkeypatch.setenv("KDEDGE_CACHE_MAX_MB", str(25_000 / 2**20))  # room for two entries, not three
    newest = teacher_logits(teacher, rows[2], "train", cache).entry
    assert {e.key for e in cache.entries()} == {keys[0], newest}
    monkeypatch.setenv("KDEDGE_CACHE_MAX_MB", "0")
    assert teacher_logits(teacher, rows[0], "train", cache).reused  # over the cap, yet what it just read stays
    teacher_logits(teacher, rows[1], "train", cache)
    assert [e.key for e in cache.entries()] == [keys[1]]


def test_concurrent_writers_of_one_entry_leave_one_complete_entry(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    cache = TargetCache(tmp_path)
    x = np.random.default_rng(0).standard_normal((4000, 6)).astype(np.float32)
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda seed: teacher_logits(CountingTeacher(), x, "train", cache, 256), range(4)))
    assert len({o.entry for o in outs}) == 1 and len(cache.entries()) == 1
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".npy"]  # no temporary files left
    for o in outs:
        np.testing.assert_array_equal(o.logits, outs[0].logits)


def test_teacher_with_wrong_width_is_refused(tmp_path):
    teacher = CountingTeacher(width=2)  # claims 3 classes, returns 2 columns
    with pytest.raises(DataError, match="returned shape \\(10, 2\\).*expected \\(10, 3\\)"):
        teacher_logits(teacher, np.ones((10, 6), np.float32), "train", TargetCache(tmp_path))
    assert list(tmp_path.iterdir()) == []  # no half-written entry


def test_fingerprint_in_chunks_matches_one_pass_hash(tmp_path):
    def one_pass(*arrays):
        digest = hashlib.sha256()
        for a in arrays:
            a = np.ascontiguousarray(a)
            digest.update(str((a.dtype.str, a.shape)).encode())
            digest.update(a.tobytes())
        return digest.hexdigest()[:16]

    big = np.random.default_rng(0).standard_normal((6000, 784)).astype(np.float32)  # 18.8 MB: two chunks
    y = np.arange(6000)
    assert fingerprint_arrays(big, y, np.asarray([0])) == one_pass(big, y, np.asarray([0]))
    np.save(tmp_path / "big.npy", big)
    mapped = np.load(tmp_path / "big.npy", mmap_mode="r")
    assert fingerprint_arrays(mapped) == one_pass(big)
    assert fingerprint_arrays(open_rows(tmp_path / "big.npy")) == one_pass(big)
    starts = [s for s, _ in iter_row_chunks(mapped, max_bytes=784 * 4 * 1000)]
    assert starts == list(range(0, 6000, 1000))


def test_streaming_rows_read_copies_and_release_pages(tmp_path):
    x = np.arange(200 * 8, dtype=np.float32).reshape(200, 8)
    np.save(tmp_path / "x.npy", x)
    rows = open_rows(tmp_path / "x.npy")
    assert rows._fd is not None  # a whole .npy: rows come by pread, not through the mapping
    assert len(rows) == 200 and rows.shape == (200, 8) and rows.dtype == np.float32 and rows.ndim == 2
    for idx in (np.array([3, 4, 5, 50, 199]), slice(10, 30), slice(0, 20, 3), slice(5, 5), -1, 7, np.array([-2])):
        picked = rows[idx]
        np.testing.assert_array_equal(picked, x[idx])
        assert type(picked) is np.ndarray
    with pytest.raises(IndexError):
        rows[np.array([200])]
    view = StreamingRows(np.load(tmp_path / "x.npy", mmap_mode="r")[10:], release_bytes=64)  # a view: indexed
    assert view._fd is None
    for i in range(0, 190, 10):
        np.testing.assert_array_equal(view[i : i + 10], x[10 + i : 20 + i])
    assert release_pages(rows.array) is True
    assert release_pages(x) is False  # in memory: nothing to drop
    assert release_pages(np.load(tmp_path / "x.npy", mmap_mode="c")) is False  # would lose edits: left alone
    assert isinstance(StreamingRows(x)[:2], np.ndarray)
    rows.close()


def test_targets_from_streaming_rows_match_in_memory(tmp_path):
    x = np.random.default_rng(3).standard_normal((700, 6)).astype(np.float32)
    np.save(tmp_path / "pool.npy", x)
    teacher = CountingTeacher()
    cache = TargetCache(tmp_path / "cache")
    streamed = teacher_logits(teacher, open_rows(tmp_path / "pool.npy"), "pool", cache, batch_size=64).logits
    np.testing.assert_allclose(streamed, x @ teacher.weights, rtol=1e-6)
    assert teacher_logits(teacher, x, "pool", cache).reused  # same bytes in memory: cache hit
    assert teacher.rows_seen == 700
