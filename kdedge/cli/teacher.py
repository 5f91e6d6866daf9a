"""`kdedge teacher eval` (`teacher train` lives with `distill` in cli/train.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..measure.timing import MIN_RUNS
from ._common import JsonFlag, Seed, _print_json, fails_cleanly, teacher_app
from ._data import DataFormat, split_reader_options, with_reader_options

TeacherSpec = Annotated[
    str,
    typer.Argument(help="A run directory, a TorchScript .pt, an .onnx, or weights (.safetensors/.pth) with --factory."),
]


def teacher_and_data(teacher: str, factory, data, data_format, seed: int, options: dict):
    """Load a teacher and the data it is to be used on, checked against each other (shape, classes)."""
    from ..api import load_data, load_teacher
    from ..errors import OptionError

    if data is None and (data_format or options):
        raise OptionError("--format and reader options apply to --data; pass --data too")
    dataset = None if data is None else load_data(data, seed=seed, format=data_format, **options)
    loaded, dataset, _ = load_teacher(teacher, data=dataset, factory=factory)
    return loaded, dataset


def teacher_eval(
    teacher: TeacherSpec,
    data: Annotated[
        str | None,
        typer.Option(help="Data (default: the run's own, or the data a kdedge-exported .onnx records); its split."),
    ] = None,
    factory: Annotated[
        str | None, typer.Option(help="For a weights teacher: package.module:build_fn or file.py:build_fn.")
    ] = None,
    data_format: DataFormat = None,
    split: Annotated[str, typer.Option(help="Split to evaluate on: train, val or test.")] = "test",
    threads: Annotated[int, typer.Option(help="Threads for the latency measurement.")] = 1,
    min_runs: Annotated[int, typer.Option(help="Timed batch-1 runs, at least.")] = MIN_RUNS,
    min_seconds: Annotated[float, typer.Option(help="Timed seconds, at least.")] = 1.0,
    seed: Seed = 0,
    as_json: JsonFlag = False,
    **options,
):
    """Accuracy, per-class accuracy and batch-1 latency of a teacher: the line every student is compared to."""
    from ..errors import OptionError
    from ..measure.latency import check_timing
    from ..teachers.evaluate import evaluate_teacher

    if split not in ("train", "val", "test"):
        raise OptionError(f"--split {split!r}: choose train, val or test")
    check_timing((threads,), min_runs, min_seconds)
    read, _ = split_reader_options(options)
    loaded, dataset = teacher_and_data(teacher, factory, data, data_format, seed, read)
    result = evaluate_teacher(loaded, dataset, split, threads, {"min_runs": min_runs, "min_seconds": min_seconds})
    if as_json:
        _print_json(result)
        return
    _render(result)


teacher_app.command("eval")(fails_cleanly(with_reader_options(teacher_eval)))


def _render(result: dict) -> None:
    from rich.table import Table

    from ..table import console_for

    lat, t = result["latency"], result["teacher"]
    typer.echo(
        f"teacher {t['path']} ({t['kind']}) on {result['data']['name']} {result['split']} "
        f"({result['samples']} samples): accuracy {result['accuracy']:.4f}; batch-1 {lat['runtime']} "
        f"p50 {lat['p50_us']:.1f} µs, p90 {lat['p90_us']:.1f} µs, p99 {lat['p99_us']:.1f} µs ({lat['runs']} runs)"
    )
    table = Table(title="per-class accuracy")
    for col in ("class", "samples", "accuracy %"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for row in result["per_class"]:
        acc = "—" if row["accuracy"] is None else f"{100 * row['accuracy']:.2f}"
        table.add_row(row["class"], str(row["samples"]), acc)
    console_for(table, widest=100).print(table)
