"""`kdedge bench`: numpy + onnxruntime only (plus the core's typer, rich and pydantic), so it runs on a board."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import _print_json, app, fails_cleanly
from ._data import DataFormat, Header, ImageChannels, ImageSize, LabelColumn, reader_options


def _int_list(value: str | None, option: str) -> list[int] | None:
    from ..errors import OptionError

    if value is None:
        return None
    try:
        values = [int(v) for v in value.replace(" ", "").split(",") if v]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise OptionError(f"{option} {value!r}: give positive integers separated by commas, e.g. 1,8,64")
    return values


@app.command()
@fails_cleanly
def bench(
    runs: Annotated[
        list[Path] | None, typer.Argument(help="Exported run directories (students and the teacher).")
    ] = None,
    model: Annotated[
        list[Path] | None,
        typer.Option("--model", help="A bare ONNX file to bench (repeatable); needs --data unless runs are given."),
    ] = None,
    data: Annotated[
        str | None, typer.Option(help="Data to measure on (default: the runs' own); its test split is used.")
    ] = None,
    data_format: DataFormat = None,
    label_column: LabelColumn = None,
    header: Header = None,
    image_size: ImageSize = None,
    image_channels: ImageChannels = None,
    seed: Annotated[
        int | None, typer.Option(help="Split seed for --data with --model only (default: the model's, else 0).")
    ] = None,
    teacher: Annotated[
        Path | None, typer.Option(help="Teacher run or .onnx (default: the run or model of kind 'teacher').")
    ] = None,
    threads: Annotated[
        str | None, typer.Option(help="onnxruntime intra-op threads, one or a sweep: 1,2,4 (default: 1).")
    ] = None,
    batch: Annotated[str | None, typer.Option(help="Batch sizes to time, one or a sweep: 1,8,64 (default: 1).")] = None,
    target: Annotated[
        str | None,
        typer.Option(help="Take threads, batch sizes and inter-op threads from this export target's profile."),
    ] = None,
    int8: Annotated[bool, typer.Option(help="Also bench RUN/model.int8.onnx where an int8 export made one.")] = True,
    memory: Annotated[bool, typer.Option(help="Measure peak memory in a fresh process per model.")] = True,
    min_runs: Annotated[int, typer.Option(help="Timed runs per model and combination, at least.")] = 50,
    min_seconds: Annotated[float, typer.Option(help="Timed seconds per model and combination, at least.")] = 1.0,
    json_path: Annotated[
        str | None, typer.Option("--json", help="Write all figures, raw times included, to PATH ('-' for stdout).")
    ] = None,
    csv_path: Annotated[
        str | None, typer.Option("--csv", help="Write one row per model and (threads, batch) to PATH.")
    ] = None,
):
    """Accuracy, agreement with the teacher, latency (swept over threads and batch sizes), memory, size and
    parameters, side by side. The first threads and batch values give the headline table."""
    from .. import bench as bench_lib
    from .._io import atomic_path, write_json
    from ..errors import OptionError

    runs, model = runs or [], model or []
    if not runs and not model:
        raise OptionError("nothing to bench; pass run directories and/or --model FILE.onnx (with --data)")
    profile = None
    if target is not None:
        from ..export.profiles import load_profile

        profile = load_profile(target)
    thread_counts = _int_list(threads, "--threads") or (profile.intra_op_threads if profile else [1])
    batches = _int_list(batch, "--batch") or (profile.batch_sizes if profile else [1])

    data_read = (data_format, reader_options(label_column, header, image_size, image_channels))
    dataset, entries, notes = _entries(runs, model, data, seed, teacher, int8, data_read)
    x_test, y_test = dataset.split("test")
    result = bench_lib.bench(
        entries,
        x_test,
        y_test,
        threads=thread_counts,
        batches=batches,
        inter_op_threads=profile.inter_op_threads if profile else 1,
        memory=memory,
        latency_options={"min_runs": min_runs, "min_seconds": min_seconds},
    )
    result["data"] = dataset.describe()
    result["notes"] = notes
    if profile is not None:
        result["target"] = profile.name
    if csv_path:
        from ..bench.table_csv import csv_text

        with atomic_path(csv_path) as tmp:
            tmp.write_text(csv_text(result))
    if json_path == "-":
        _print_json(result)
        return
    if json_path:
        write_json(json_path, result)
    from ..table import bench_table

    bench_table(result)


def _entries(runs, models, data, seed, teacher, int8, data_read=(None, {})):
    """(dataset, bench entries, notes): runs (and their int8 graphs) first, then bare models; one teacher."""
    from .. import bench as bench_lib
    from ..data import load_dataset
    from ..errors import DataError, OptionError
    from ..export import INT8_FILE
    from ..runs import ONNX_FILE, Run

    loaded = [Run.load(r) for r in runs]
    teacher_is_model = teacher is not None and teacher.suffix == ".onnx"
    if teacher is not None and teacher_is_model and teacher.resolve() not in {m.resolve() for m in models}:
        models = [*models, teacher]
    elif teacher is not None and not teacher_is_model and teacher.resolve() not in {r.path.resolve() for r in loaded}:
        loaded.append(Run.load(teacher))

    if loaded:
        fmt, options = data_read  # how to read --data (ignored for the runs' own data)
        dataset = loaded[0].dataset(data, fmt, **options)
        for run in loaded[1:]:
            if run.dataset(data, fmt, **options).fingerprint != dataset.fingerprint:
                raise DataError(
                    f"{run.path} was split from other data or with another seed than {loaded[0].path}; "
                    "bench runs made from the same data and --seed"
                )
    else:
        if data is None:
            raise OptionError("--model needs --data (e.g. --data digits or --data test.npz) to measure accuracy on")
        meta_seed = bench_lib.model_metadata(models[0]).get("data_seed") if models[0].is_file() else None
        fmt, options = data_read
        dataset = load_dataset(data, seed=seed if seed is not None else int(meta_seed or 0), fmt=fmt, **options)

    entries, notes = [], []
    for run in loaded:
        entries.append(bench_lib.Entry(run.name, run.require_onnx(), "teacher" if run.kind == "teacher" else "student"))
        int8_path = run.path / INT8_FILE
        if int8 and (run.manifest.get("export") or {}).get("int8") and int8_path.is_file():
            entries.append(bench_lib.Entry(f"{run.name} int8", int8_path, "student"))
    for path in models:
        entry, model_notes = bench_lib.model_entry(path, dataset)
        entries.append(entry)
        notes += model_notes

    if teacher is not None:  # the named one (a run's fp32 graph, or a file) is the teacher, and only it
        chosen = teacher.resolve() if teacher_is_model else (teacher / ONNX_FILE).resolve()
        for entry in entries:
            entry.kind = "teacher" if entry.model_path.resolve() == chosen else "student"
    if sum(e.kind == "teacher" for e in entries) > 1:
        raise OptionError("several teachers given; name the one to compare with by --teacher RUN (or MODEL.onnx)")
    return dataset, entries, notes
