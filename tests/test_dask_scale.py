"""Teacher outputs and a search on a Dask cluster: a `LocalCluster` of 2 worker processes on 127.0.0.1, started
here (worker processes, so teachers really travel to other interpreters)."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from typer.testing import CliRunner

from kdedge.cli import app

distributed = pytest.importorskip("distributed")
runner = CliRunner()


def kdedge(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as running:
        yield running


def _ran_on(cluster, prefix: str) -> bool:
    return any(name.startswith(prefix) for name in cluster.scheduler.task_prefixes)


def test_teacher_outputs_computed_on_workers_land_in_the_same_cache_entry(tmp_path, teacher_run, cluster):
    base = ["distill", "--teacher", teacher_run.path, "--student", "mlp", "--epochs", "1"]
    base += ["--transfer", "augment", "--transfer-size", "2x"]
    dask = ["--backend", "dask", "--scheduler", cluster.scheduler_address, "--cache-dir", tmp_path / "shared"]
    r = kdedge(*base, *dask, "--out", tmp_path / "a")
    assert r.exit_code == 0, r.output
    used = json.loads((tmp_path / "a" / "kdedge.json").read_text())["compute"]["teacher_outputs"]
    assert used["transfer"]["reused"] is False and used["transfer"]["computed_on"] == "dask (2 workers)"
    assert _ran_on(cluster, "kdedge-teacher-outputs")
    # the fingerprint cache works the same: a second run reuses the entry, wherever it would compute
    r = kdedge(*base, *dask, "--out", tmp_path / "b")
    assert r.exit_code == 0, r.output
    again = json.loads((tmp_path / "b" / "kdedge.json").read_text())["compute"]["teacher_outputs"]
    assert again["transfer"] == {"entry": used["transfer"]["entry"], "reused": True}
    # and the entry holds what this process computes alone
    r = kdedge(*base, "--cache-dir", tmp_path / "local", "--out", tmp_path / "c")
    assert r.exit_code == 0, r.output
    entry = used["transfer"]["entry"] + ".npy"
    on_workers = np.load(tmp_path / "shared" / "targets" / entry)
    here = np.load(tmp_path / "local" / "targets" / entry)
    assert on_workers.shape == here.shape and np.allclose(on_workers, here, atol=1e-5)


def test_two_trial_search_on_the_cluster_then_resumed(tmp_path, teacher_run, cluster):
    out = tmp_path / "s"
    fast = ["--families", "mlp", "--max-epochs", "2", "--min-seconds", "0.05"]
    dask = ["--backend", "dask", "--scheduler", cluster.scheduler_address]
    r = kdedge("search", "--teacher", teacher_run.path, "--trials", 2, "--out", out, *fast, *dask)
    assert r.exit_code == 0, r.output
    assert _ran_on(cluster, "kdedge-search")  # the trials ran as tasks on the workers
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trials"] == 2 and summary["completed"] == 2
    assert sorted(p.name for p in (out / "trials").iterdir()) == ["0000", "0001"]
    assert (out / "best" / "model.onnx").is_file()
    r = kdedge("search", "--resume", out, "--trials", 1, "--min-seconds", "0.05", *dask)
    assert r.exit_code == 0, r.output
    assert json.loads((out / "summary.json").read_text())["trials"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "dask"], "needs --scheduler tcp://HOST:PORT"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler applies to --backend dask"),
        (["--backend", "spark", "--scheduler", "x"], "unknown --backend 'spark'"),
    ],
)
def test_backend_options_are_checked_first(tmp_path, teacher_run, args, message):
    r = kdedge("distill", "--teacher", teacher_run.path, "--student", "mlp", "--out", tmp_path / "d", *args)
    assert r.exit_code == 2 and message in r.output, r.output
    r = kdedge("search", "--teacher", teacher_run.path, "--out", tmp_path / "s", "--trials", 1, *args)
    assert r.exit_code == 2 and message in r.output, r.output
    assert not (tmp_path / "d").exists() and not (tmp_path / "s").exists()


def test_teachers_travel_as_state_and_reopen_their_files(tmp_path, teacher_run, digits):
    """What Dask does to a teacher it sends: pickle it here, unpickle it there; the same logits come out."""
    import warnings

    import torch

    from kdedge.teachers import load_teacher

    x = digits.split("val")[0][:16]
    run_teacher = load_teacher(teacher_run.path)
    module = run_teacher.student.module.eval()
    run_teacher.use_onnxruntime(1)  # an onnxruntime session (of the exported graph), which does not pickle
    onnx_teacher = load_teacher(teacher_run.onnx_path).bind(digits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.10 deprecates TorchScript
        torch.jit.save(torch.jit.trace(module, torch.as_tensor(x)), tmp_path / "teacher.pt")
    script_teacher = load_teacher(tmp_path / "teacher.pt").bind(digits)  # a scripted module does not pickle
    for teacher in (run_teacher, onnx_teacher, script_teacher):
        copy = pickle.loads(pickle.dumps(teacher))
        assert copy.fingerprint == teacher.fingerprint
        assert np.allclose(copy.logits(x), teacher.logits(x), atol=1e-5)
