"""Bench run directories and bare ONNX files side by side: what `kdedge bench` and `kdedge run` both call.

Like the rest of kdedge.measure this needs only numpy and onnxruntime (run manifests are JSON, data readers numpy).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import Entry, bench, model_entry, open_model


def bench_entries(
    runs=(), models=(), data=None, seed=None, teacher=None, int8=True, data_read=(None, {}), names=None, test_set=None
):
    """(dataset, bench entries, notes): runs (and their int8 graphs) first, then bare models; one teacher.
    Runs with a C export (RUN/c/) are listed by `c_entries`.

    `names`: a row name per run (default: the run folder's name). `test_set`: a saved test split (measure/testset.py)
    to measure on as it is, in place of `data` and of the runs' own data: what `kdedge bench --on` sends a board.
    """
    from ..data import load_dataset
    from ..errors import DataError, OptionError
    from ..runs import INT8_FILE, ONNX_FILE, Run

    runs, models = [Path(r) for r in runs], [Path(m) for m in models]
    teacher = Path(teacher) if teacher is not None else None
    loaded = [Run.load(r) for r in runs]
    teacher_is_model = teacher is not None and teacher.suffix == ".onnx"
    if teacher is not None and teacher_is_model and teacher.resolve() not in {m.resolve() for m in models}:
        models = [*models, teacher]
    elif teacher is not None and not teacher_is_model and teacher.resolve() not in {r.path.resolve() for r in loaded}:
        loaded.append(Run.load(teacher))

    fmt, options = data_read  # how to read --data (the runs' own data is read as it was)
    if test_set is not None:
        from .testset import load_test_set

        if data is not None:
            raise OptionError("--test-set replaces --data; pass one or the other")
        dataset = load_test_set(test_set)
        for run in loaded:
            if run.manifest.data.fingerprint != dataset.fingerprint:
                raise DataError(
                    f"{run.path} was split from other data or with another seed than the test set {test_set}; "
                    "bench it on its own data"
                )
    elif loaded:
        dataset = loaded[0].dataset(data, fmt, **options)
        for run in loaded[1:]:
            if run.dataset(data, fmt, **options).fingerprint != dataset.fingerprint:
                raise DataError(
                    f"{run.path} was split from other data or with another seed than {loaded[0].path}; "
                    "bench runs made from the same data and --seed"
                )
    else:
        meta = open_model(models[0])[1]  # a missing or broken file fails here, in one line
        if data is None:  # the data the model was trained on, as its export recorded it
            data = recorded_data(models[0], meta)
        meta_seed = meta.get("data_seed")
        dataset = load_dataset(data, seed=seed if seed is not None else int(meta_seed or 0), fmt=fmt, **options)

    entries, notes = [], []
    names = list(names or []) + [run.name for run in loaded[len(names or []) :]]
    for run, name in zip(loaded, names, strict=True):
        # opened here, as `--model` files are: a truncated graph is one line naming it, before any timing
        entries.append(
            Entry(name, open_model(run.require_onnx())[0], "teacher" if run.kind == "teacher" else "student")
        )
        int8_path = run.path / INT8_FILE
        if int8 and (run.manifest.export or {}).get("int8") and int8_path.is_file():
            entries.append(Entry(f"{name} int8", open_model(int8_path)[0], "student"))
        entries += _app_entries(run, name, int8)
    for path in models:
        entry, model_notes = model_entry(path, dataset)
        entries.append(entry)
        notes += model_notes

    if teacher is not None:  # the named one (a run's fp32 graph, or a file) is the teacher, and only it
        chosen = teacher.resolve() if teacher_is_model else (teacher / ONNX_FILE).resolve()
        for entry in entries:
            entry.kind = "teacher" if entry.model_path.resolve() == chosen else "student"
    if sum(e.kind == "teacher" for e in entries) > 1:
        raise OptionError("several teachers given; name the one to compare with by --teacher RUN (or MODEL.onnx)")
    return dataset, entries, notes + _teacher_changed(loaded, entries)


# the ORT-format files of `kdedge export RUN --target mobile`: timed like the .onnx graphs they came from
ORT_FILES = (("model.ort", " ort"), ("model.int8.ort", " int8 ort"))


def _app_entries(run, name: str, int8: bool) -> list:
    if not ((run.manifest.apps or {}).get("mobile") or {}).get("files"):
        return []
    found = []
    for file, suffix in ORT_FILES:
        path = run.path / "mobile" / file
        if path.is_file() and (int8 or "int8" not in file):
            found.append(Entry(f"{name}{suffix}", open_model(path)[0], "student"))
    return found


def _teacher_changed(loaded, entries) -> list[str]:
    """Notes for students whose recorded teacher fingerprint is not the benched teacher run's: the teacher was
    retrained (or its weights replaced) after they were distilled, so agreement compares with another model."""
    teacher_path = next((e.model_path.resolve().parent for e in entries if e.kind == "teacher"), None)
    teacher_run = next((r for r in loaded if r.path.resolve() == teacher_path), None)
    if teacher_run is None or not teacher_run.manifest.weights_sha256:
        return []
    notes = []
    for run in loaded:
        recorded = run.manifest.teacher or {}
        if run is teacher_run or Path(recorded.get("path", "")).resolve() != teacher_run.path.resolve():
            continue
        if recorded.get("fingerprint") != teacher_run.manifest.weights_sha256:
            notes.append(
                f"{run.path} was distilled from {teacher_run.path} when its weights had fingerprint "
                f"{recorded.get('fingerprint')}; they are now {teacher_run.manifest.weights_sha256} (retrained or "
                f"replaced), so its agreement is with another teacher; distill it again to compare like with like"
            )
    return notes


def recorded_data(model: Path, meta: dict) -> str:
    """The data a kdedge export came from: a built-in name as recorded, else the run record beside the model (an
    export names its data file but never holds its path), else an older export's path that still exists."""
    from ..data import BUILTINS
    from ..errors import OptionError
    from ..manifest import MANIFEST

    source = meta.get("data_source")
    if source is None:
        raise OptionError(f"{model} does not say what data it came from; pass --data (e.g. --data test.npz)")
    if source in BUILTINS:
        return source
    record = Path(model).parent / MANIFEST
    if record.is_file():
        try:
            recorded = json.loads(record.read_text())["data"]
            if recorded.get("fingerprint") == meta.get("dataset_fingerprint") and Path(recorded["source"]).exists():
                return recorded["source"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
    if Path(source).is_absolute() and Path(source).exists():
        return source
    raise OptionError(f"{model} came from data {source!r}, which is not beside it; pass --data to measure on")


def c_entries(runs=(), names=None) -> tuple[list, list[str]]:
    """A CEntry for each C export of each run on disk (`<row name> C`, `<row name> C int8`); notes give their
    Cortex-M sizes."""
    import shutil

    from ..c_variants import VARIANTS
    from ..runs import Run
    from . import CEntry

    found, notes = [], []
    has_compiler = bool(os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc"))
    for i, path in enumerate(Path(r) for r in runs):
        run = Run.load(path)
        for variant in VARIANTS.values():
            info = getattr(run.manifest, variant.record)
            folder = run.path / variant.folder
            if not info or not (folder / f"{info['prefix']}.c").is_file():
                continue
            name = f"{(names or [])[i] if i < len(names or []) else run.name}{variant.row_suffix}"
            if not has_compiler:  # a board may bench ONNX without a compiler: say why the C row is missing
                notes.append(f"{name}: no row, this machine has no C compiler (cc) to build the timing harness")
                continue
            found.append(CEntry(name, {**info, "path": str(folder)}, run.require_onnx()))
            m = info.get("mcu")
            if m:
                notes.append(
                    f"{name} on a {m['cpu']} (-Os): flash {m['flash_kb']:.1f} KB, RAM {m['ram_kb']:.2f} KB "
                    f"(data+bss {m['static_ram_bytes']} B + stack {m['stack_bytes']} B); size KB of C rows is that "
                    "flash"
                )
    if found:
        from .c_harness import build_command

        notes.append(f"C rows: compiled here with {build_command()}, timed inside C (no Python call counted)")
    return found, notes


def bench_runs(
    runs=(),
    models=(),
    *,
    data=None,
    seed=None,
    teacher=None,
    int8=True,
    data_read=(None, {}),
    names=None,
    test_set=None,
    profile=None,
    threads: list[int] | None = None,
    batches: list[int] | None = None,
    memory: bool = True,
    latency_options: dict | None = None,
    c: bool = True,
) -> dict:
    """The whole bench result for runs and/or models (threads, batch sizes and inter-op threads from `profile`
    unless given), with the data description and notes; what `kdedge bench --json` writes."""
    dataset, entries, notes = bench_entries(runs, models, data, seed, teacher, int8, data_read, names, test_set)
    c_found, c_notes = c_entries(runs, names) if c else ([], [])
    x_test, y_test = dataset.split("test")
    result = bench(
        entries,
        x_test,
        y_test,
        threads=threads or (profile.intra_op_threads if profile else [1]),
        batches=batches or (profile.batch_sizes if profile else [1]),
        inter_op_threads=profile.inter_op_threads if profile else 1,
        memory=memory,
        latency_options=latency_options,
        c_entries=c_found,
    )
    result["data"] = dataset.describe()
    result["notes"] = notes + c_notes
    if profile is not None:
        result["target"] = profile.name
    return result
