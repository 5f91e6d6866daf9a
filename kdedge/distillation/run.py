"""Fit a student (or a built-in teacher) on a data set and write it as a run directory."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from .. import distributed
from .._io import atomic_dir, write_json
from ..compute import apply_training_threads, seconds_since_start, training_device
from ..data import Dataset
from ..errors import DataError, OptionError
from ..manifest import Manifest, StudentRecord
from ..params import check_seed
from ..runs import METRICS, Run, now, sha256_files, versions
from ..students import make_params, student_class
from .batches import Batches
from .checkpoint import resumable
from .methods import Method, check_method
from .online import OnlineViews
from .targets import teacher_logits
from .transfer import TransferSet, check_method_fits, check_online_fits, make_transfer


def data_spec(dataset: Dataset, source: str) -> dict:
    """How to load the same data and split again, plus what a model trained on it expects."""
    path = Path(source)
    spec = {"source": str(path.resolve()) if path.exists() else source, **dataset.describe()}
    origin = getattr(dataset, "origin", None) or {}
    if origin:  # what load_dataset resolved: absolute path(s), the format and the reader's options
        spec.update(source=origin["source"], format=origin["format"], reader_options=origin["options"])
    spec["normalization"] = {**dataset.normalization.to_dict(), "applied": "inside the model and its ONNX graph"}
    return spec


def check_teacher_fits(teacher, dataset: Dataset, method: Method | None = None) -> bool:
    """The input shape always; the classes only when `method` reads the teacher's outputs (logits over the data's
    classes). Returns whether the teacher is of the same task (same classes, in the same order)."""
    dataset.check_compatible(teacher.sample_shape, dataset.n_classes, f"teacher {teacher.name}")
    names = list(teacher.class_names or [])
    same_task = teacher.n_classes == dataset.n_classes and names == list(dataset.class_names)
    if not same_task and (method is None or method.needs_teacher_outputs):
        fix = method.other_task_fix if method is not None else Method.other_task_fix
        raise DataError(
            f"teacher {teacher.name} has {teacher.n_classes} classes {names[:5]}... but {dataset.name} has "
            f"{dataset.n_classes} {list(dataset.class_names)[:5]}...; {fix}"
        )
    return same_task


def _describe_teacher(teacher, same_task: bool) -> dict:
    if same_task:
        return teacher.describe()
    # e.g. FSP across tasks: the teacher gave its layers' flow on these inputs, never its outputs
    return {**teacher.describe(), "other_task": True, "class_names": list(teacher.class_names or [])}


def _training_batches(fit_set, x_val, transfer, teacher, params, seed: int, used: dict):
    """(what the student trains on, the teacher's val logits or None). `teacher` is None when the method reads no
    teacher outputs. Cached: the teacher labels the fixed set once (the shared cache, memory-mapped; `used` gets
    the entries read or written); online: it labels each batch's fresh views inside the loop, and only val here."""
    online = getattr(transfer, "online", False)
    if teacher is None:
        data = OnlineViews(fit_set.x, fit_set.y, transfer, None, seed) if online else Batches(fit_set.x, fit_set.y)
        return data, None
    rows = len(fit_set.x) * (getattr(params, "epochs", 1) if online else 1)
    teacher.use_onnxruntime(rows)
    t_val = _labelled(teacher, x_val, "val", used)
    if online:
        return OnlineViews(fit_set.x, fit_set.y, transfer, teacher, seed), t_val
    t_train = _labelled(teacher, fit_set.x, "transfer" if transfer.generates else "train", used)
    return Batches(fit_set.x, fit_set.y, t_train), t_val


def _labelled(teacher, x, split: str, used: dict) -> np.ndarray:
    with distributed.rank_zero_first():  # under DDP the other processes read the entry rank 0 wrote
        outputs = teacher_logits(teacher, x, split)
    used[split] = {"entry": outputs.entry, "reused": outputs.reused}
    if not outputs.reused and outputs.computed_on != "here":
        used[split]["computed_on"] = outputs.computed_on
    return outputs.logits


def _compute_record(family: str) -> dict:
    """Where and how the training runs: threads, device, processes, and when the work started."""
    compute = {**apply_training_threads(), "work_started_after_s": seconds_since_start()}
    compute["device"] = training_device() if student_class(family).neural else "cpu"
    return {**compute, **distributed.describe()}


def fit_run(
    *,
    out: Path,
    kind: str,
    family: str,
    options: dict,
    method: Method,
    dataset: Dataset,
    data_source: str,
    seed: int,
    teacher=None,
    overwrite: bool = False,
    transfer: TransferSet | None = None,
    defaults: dict | None = None,
) -> Run | None:
    """Train `family` with `method` on `dataset`'s train split (selection on val), then write `out` (and return
    it; None in a DDP process other than rank 0, which writes nothing)."""
    check_seed(seed)
    params = make_params(family, options)
    check_method(family, method.name)
    compute = _compute_record(family)
    if method.needs_teacher and teacher is None:
        raise OptionError(f"--method {method.name} needs a teacher; pass --teacher RUN (or use --method hard)")
    same_task = teacher is not None and check_teacher_fits(teacher, dataset, method)
    # Logits over the data's classes only when the method reads them (and the teacher has those classes).
    teacher_outputs = same_task and method.needs_teacher_outputs
    transfer = transfer if transfer is not None else make_transfer("train")
    check_method_fits(transfer, method)
    check_online_fits(transfer, method, student_class(family).neural)
    if method.needs_features:
        from .features import require_features

        require_features(teacher, method.name)
    out = Path(out)
    # Under DDP only rank 0 writes the run; the other processes train alongside and write nothing.
    with atomic_dir(out, overwrite=overwrite) if distributed.is_writer() else contextlib.nullcontext() as tmp:
        (x_train, y_train), (x_val, y_val), (x_test, y_test) = (dataset.split(s) for s in ("train", "val", "test"))
        # The training split, then any new inputs (augment copies keep their labels, munge/pool inputs get -1);
        # val and test never enter it.
        fit_set = transfer.build(x_train, y_train, seed, held_out=(x_val, x_test))
        teacher_for_fit = teacher if teacher_outputs else None
        used: dict = {}
        train_data, t_val = _training_batches(fit_set, x_val, transfer, teacher_for_fit, params, seed, used)
        if used:
            compute["teacher_outputs"] = used
        student = student_class(family)(params, dataset.sample_shape, dataset.n_classes, dataset.normalization)
        # Feature methods (fitnets, fsp) read the teacher's layers during fit; other students never see it.
        extra = {"teacher": teacher} if method.needs_features else {}
        # what a checkpoint must match to be resumed: everything that shapes the training
        key = {"kind": kind, "family": family, "params": params.model_dump(mode="json"), "method": method.describe(),
               "data": dataset.fingerprint, "transfer": fit_set.info,
               "teacher": None if teacher is None else teacher.describe(), "seed": seed}  # fmt: skip
        # A killed neural training resumes from its last checkpoint when the same command runs again (one process;
        # a DDP run starts over).
        with resumable(out, key, student.neural and distributed.world_size() == 1, overwrite):
            fit_info = student.fit(method, train_data, Batches(x_val, y_val, t_val), seed, **extra)
        history = fit_info.pop("history", None)
        if t_val is not None and "val_agreement" not in fit_info:  # non-neural students: fidelity on val too
            fit_info["val_agreement"] = float(np.mean(student.predict(x_val) == np.asarray(t_val).argmax(1)))
        # The test split is touched once, here, after selection is over.
        test_pred = student.predict(x_test)
        metrics = {"test_accuracy": float(np.mean(test_pred == y_test)), **fit_info}
        if same_task:  # across tasks the teacher's labels are other classes: agreement would mean nothing
            metrics["test_agreement_with_teacher"] = float(np.mean(test_pred == teacher.logits(x_test).argmax(1)))
        if tmp is None:
            return None
        weight_files = student.save(tmp)
        Manifest(
            kind=kind, family=family, created=now(), seed=seed,
            student=StudentRecord(family=family, params=params.model_dump(mode="json"), n_params=student.n_params),
            method=method.describe(), data=data_spec(dataset, data_source),
            teacher=None if teacher is None else _describe_teacher(teacher, same_task), transfer=fit_set.info,
            defaults=defaults, weights=weight_files, weights_sha256=sha256_files(tmp, weight_files), metrics=metrics,
            versions=versions(), compute=compute,
        ).write(tmp)  # fmt: skip
        write_json(tmp / METRICS, {**metrics, "history": history})
    return Run.load(out)
