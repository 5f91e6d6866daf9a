"""Training threads (one decision in kdedge.compute, recorded in the run) and the shared teacher-output cache
through the CLI: a second distill into another folder computes no teacher outputs."""

import json

import pytest
from typer.testing import CliRunner

from kdedge import compute
from kdedge.cli import app
from kdedge.errors import OptionError

runner = CliRunner()


def kdedge(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_threads_come_from_the_flag_then_the_environment_then_the_cpus(monkeypatch):
    monkeypatch.delenv("KDEDGE_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert compute.training_threads() == compute.available_cpus() == compute.share(1)
    assert compute.share(compute.available_cpus() * 2) == 1  # never zero threads
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert compute.training_threads() == 3
    compute.set_training_threads(2)  # --threads (monkeypatch restores the variable it set)
    assert compute.training_threads() == 2
    for bad in (0, -1, 1.5, True):
        with pytest.raises(OptionError, match="--threads"):
            compute.set_training_threads(bad)
    monkeypatch.setenv("KDEDGE_THREADS", "many")
    with pytest.raises(OptionError, match="KDEDGE_THREADS='many'"):
        compute.training_threads()


def test_second_distill_into_another_folder_reuses_the_teachers_outputs(tmp_path, teacher_run, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("KDEDGE_CACHE_DIR", str(tmp_path / "elsewhere"))  # --cache-dir must win; restored after
    monkeypatch.setenv("KDEDGE_THREADS", "1")
    common = ("distill", "--teacher", teacher_run.path, "--student", "svm", "--method", "logits", "--cache-dir", cache)
    first = kdedge(*common, "--out", tmp_path / "a", "--threads", 1)
    assert first.exit_code == 0, first.output
    second = kdedge(*common, "--out", tmp_path / "b")
    assert second.exit_code == 0, second.output
    a, b = (json.loads((tmp_path / name / "kdedge.json").read_text())["compute"] for name in "ab")
    assert a["threads"] == 1 and a["cpus"] >= 1
    assert {split: u["reused"] for split, u in a["teacher_outputs"].items()} == {"train": False, "val": False}
    assert {split: u["reused"] for split, u in b["teacher_outputs"].items()} == {"train": True, "val": True}
    assert a["teacher_outputs"] == {s: {**u, "reused": False} for s, u in b["teacher_outputs"].items()}
    assert not (tmp_path / "a" / "targets").exists()  # the run keeps no copy

    listed = kdedge("cache", "list", "--cache-dir", cache, "--json")
    entries = json.loads(listed.output)["entries"]
    assert sorted(e["key"] for e in entries) == sorted(u["entry"] for u in a["teacher_outputs"].values())
    assert all(e["teacher_fingerprint"] and e["size_bytes"] > 0 for e in entries)
    cleared = kdedge("cache", "clear", "--cache-dir", cache)
    assert cleared.exit_code == 0 and "removed 2 entries" in cleared.output
    assert list((cache / "targets").iterdir()) == []
    assert kdedge("export", tmp_path / "b").exit_code == 0  # a run never needs the cache after it is made


def test_bad_threads_and_cache_dir_are_one_line_and_exit_2(tmp_path, teacher_run, monkeypatch):
    monkeypatch.setenv("KDEDGE_CACHE_DIR", str(tmp_path / "c"))
    r = kdedge("distill", "--teacher", teacher_run.path, "--threads", 0, "--out", tmp_path / "x")
    assert r.exit_code == 2 and "--threads" in r.output
    (tmp_path / "file").write_text("mine")
    r = kdedge("cache", "list", "--cache-dir", tmp_path / "file")
    assert r.exit_code == 2 and "that is a file" in r.output
    assert (tmp_path / "file").read_text() == "mine"


def test_device_is_checked_and_recorded(tmp_path, teacher_run, monkeypatch):
    import torch

    monkeypatch.setenv("KDEDGE_DEVICE", "")  # restored after the test; --device sets it
    monkeypatch.setenv("KDEDGE_CACHE_DIR", str(tmp_path / "cache"))
    base = ("distill", "--teacher", teacher_run.path, "--student", "mlp", "--hidden", 8, "--epochs", 2)
    r = kdedge(*base, "--device", "cpu", "--out", tmp_path / "cpu")
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "cpu" / "kdedge.json").read_text())["compute"]["device"] == "cpu"
    r = kdedge(*base, "--device", "auto", "--out", tmp_path / "auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"  # (mps only on Apple machines)
    assert r.exit_code == 0 and json.loads((tmp_path / "auto" / "kdedge.json").read_text())["compute"]["device"] in (
        expected,
        "mps",
    )
    r = kdedge(*base, "--device", "tpu", "--out", tmp_path / "tpu")
    assert r.exit_code == 2 and "choose auto, cpu, cuda, cuda:N or mps" in r.output
    if not torch.cuda.is_available():
        r = kdedge(*base, "--device", "cuda:0", "--out", tmp_path / "cuda")
        assert r.exit_code == 2 and "CUDA device(s)" in r.output and not (tmp_path / "cuda").exists()
    # a non-neural student records the CPU whatever was asked
    r = kdedge(
        "distill", "--teacher", teacher_run.path, "--student", "tree", "--method", "logits", "--out", tmp_path / "t"
    )
    assert json.loads((tmp_path / "t" / "kdedge.json").read_text())["compute"]["device"] == "cpu"
