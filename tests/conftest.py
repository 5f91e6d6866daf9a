"""Shared fixtures: one small teacher and one distilled MLP on digits, trained once per test session."""

from __future__ import annotations

import os

import pytest

from kdedge.runs import Run

os.environ.setdefault("KDEDGE_QUIET", "1")
os.environ.setdefault("KDEDGE_DEBUG", "1")  # a bug in a CLI test shows its traceback, not the one-line summary


@pytest.fixture(scope="session", autouse=True)
def own_cache_dir(tmp_path_factory):
    """The shared teacher-output cache of this test session, not the user's ~/.cache/kdedge."""
    os.environ["KDEDGE_CACHE_DIR"] = str(tmp_path_factory.mktemp("kdedge-cache"))


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Tiny models train several times faster on one intra-op thread than on two that contend with other jobs
    (measured on a busy 2-core machine: 26 s instead of 147 s for the same recipe runs). KDEDGE_THREADS is what
    every fit reads (kdedge.compute)."""
    import torch

    before = torch.get_num_threads(), os.environ.get("KDEDGE_THREADS")
    torch.set_num_threads(1)
    os.environ["KDEDGE_THREADS"] = "1"
    yield
    torch.set_num_threads(before[0])
    if before[1] is None:
        os.environ.pop("KDEDGE_THREADS", None)


@pytest.fixture(scope="session")
def digits():
    from kdedge.data import load_dataset

    return load_dataset("digits", seed=0)


@pytest.fixture(scope="session")
def teacher_run(tmp_path_factory, digits):
    """A CNN teacher on digits (15 epochs, ~3 s), exported to ONNX."""
    from kdedge.convert import export_run
    from kdedge.distillation.methods import make_method
    from kdedge.distillation.run import fit_run

    out = tmp_path_factory.mktemp("runs") / "teacher"
    run = fit_run(
        out=out,
        kind="teacher",
        family="cnn",
        options={"epochs": 15, "patience": 15},
        method=make_method("hard"),
        dataset=digits,
        data_source="digits",
        seed=0,
    )
    export_run(run.path)
    return Run.load(run.path)  # reloaded: export added its record to the manifest


@pytest.fixture(scope="session")
def kd_mlp_run(tmp_path_factory, digits, teacher_run):
    """An MLP distilled from `teacher_run` with KD (60 epochs), exported to ONNX."""
    from kdedge.convert import export_run
    from kdedge.distillation.methods import make_method
    from kdedge.distillation.run import fit_run
    from kdedge.teachers import load_teacher

    out = tmp_path_factory.mktemp("runs") / "mlp"
    run = fit_run(
        out=out,
        kind="student",
        family="mlp",
        options={"hidden": (64,), "epochs": 60},
        method=make_method("kd", temperature=4.0, alpha=0.9),
        dataset=digits,
        data_source="digits",
        seed=0,
        teacher=load_teacher(teacher_run.path),
    )
    export_run(run.path)
    return Run.load(run.path)  # reloaded: export added its record to the manifest


@pytest.fixture(scope="session")
def teacher_files(tmp_path_factory, teacher_run):
    """`teacher_run` as the files a teacher trained elsewhere comes as: {"onnx": .onnx, "torchscript": .pt}."""
    import json

    import torch

    from kdedge.students import load_student

    folder = tmp_path_factory.mktemp("teacher-files")
    module = load_student(teacher_run).module.eval()
    with torch.no_grad():
        traced = torch.jit.trace(module, torch.zeros(2, *teacher_run.dataset().sample_shape))
    names = json.dumps(list(teacher_run.dataset().class_names))
    torch.jit.save(traced, str(folder / "teacher.pt"), _extra_files={"class_names.json": names})
    return {"onnx": teacher_run.onnx_path, "torchscript": folder / "teacher.pt"}
