"""The `kdedge` command line: parse options, call the library, render tables, map errors to exit codes."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import KdedgeError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Distill a CNN teacher into small students, export them to ONNX and measure them.")
teacher_app = typer.Typer(no_args_is_help=True, help="Train or inspect teachers.")
app.add_typer(teacher_app, name="teacher")


def fails_cleanly(fn):
    """A KdedgeError becomes one line on stderr and exit code 2; anything else keeps its traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except KdedgeError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def _given(**options) -> dict:
    return {k: v for k, v in options.items() if v is not None}


def _print_json(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


Seed = Annotated[int, typer.Option(help="Seed for the data split, initial weights and batch order.")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace --out if it exists.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
Epochs = Annotated[int | None, typer.Option(help="Maximum epochs (early stopping on the val split).")]
Patience = Annotated[int | None, typer.Option(help="Stop after this many epochs without a better val score.")]
Lr = Annotated[float | None, typer.Option(help="Adam learning rate.")]
BatchSize = Annotated[int | None, typer.Option(help="Training batch size.")]


def _summary(run, as_json: bool) -> None:
    if as_json:
        _print_json({"run": str(run.path), **run.manifest["metrics"]})
        return
    m = run.manifest["metrics"]
    line = (f"{run.kind} {run.family} -> {run.path}: val acc {m['val_accuracy']:.4f} (epoch {m['best_epoch']}), "
            f"test acc {m['test_accuracy']:.4f}")
    if "test_agreement_with_teacher" in m:
        line += f", agreement with teacher {m['test_agreement_with_teacher']:.4f}"
    typer.echo(line + f", {run.manifest['student']['n_params']} params")


@teacher_app.command("train")
@fails_cleanly
def teacher_train(
    out: Annotated[Path, typer.Option(help="Run directory to create.")],
    data: Annotated[str, typer.Option(help="Built-in name (digits) or a data file (.npz).")] = "digits",
    arch: Annotated[str, typer.Option(help="Teacher architecture.")] = "cnn",
    channels: Annotated[str | None, typer.Option(help="CNN channels per block, e.g. 32,64,64.")] = None,
    epochs: Epochs = 60,
    patience: Patience = 20,
    lr: Lr = None,
    batch_size: BatchSize = None,
    seed: Seed = 0,
    overwrite: Overwrite = False,
    as_json: JsonFlag = False,
):
    """Train a built-in teacher (a small CNN: 2-D for images, 1-D for sequences) on labels."""
    from .data import load_dataset
    from .distill.methods import make_method
    from .distill.run import fit_run

    dataset = load_dataset(data, seed=seed)
    options = _given(channels=channels, epochs=epochs, patience=patience, lr=lr, batch_size=batch_size)
    run = fit_run(out=out, kind="teacher", family=arch, options=options, method=make_method("hard"),
                  dataset=dataset, data_source=data, seed=seed, overwrite=overwrite)
    _summary(run, as_json)


@app.command()
@fails_cleanly
def distill(
    out: Annotated[Path, typer.Option(help="Run directory to create.")],
    student: Annotated[str, typer.Option(help="Student family (see `kdedge students`).")] = "mlp",
    method: Annotated[str, typer.Option(help="Distillation method (see `kdedge methods`).")] = "kd",
    teacher: Annotated[Path | None, typer.Option(help="Teacher run directory.")] = None,
    data: Annotated[str | None, typer.Option(help="Data (default: the teacher's own data and split).")] = None,
    temperature: Annotated[float | None, typer.Option(help="Softmax temperature T (kd, softmax).")] = None,
    alpha: Annotated[float | None, typer.Option(help="Weight of the soft term in kd (1 - alpha on labels).")] = None,
    hidden: Annotated[str | None, typer.Option(help="MLP hidden sizes, e.g. 128 or 128,64.")] = None,
    channels: Annotated[str | None, typer.Option(help="CNN channels per block, e.g. 16,32,32.")] = None,
    epochs: Epochs = None,
    patience: Patience = None,
    lr: Lr = None,
    batch_size: BatchSize = None,
    seed: Seed = 0,
    overwrite: Overwrite = False,
    as_json: JsonFlag = False,
):
    """Train a student from a teacher's outputs (or, with --method hard, from labels alone)."""
    from .data import load_dataset
    from .distill.methods import make_method
    from .distill.run import fit_run
    from .errors import OptionError
    from .teachers import load_teacher

    chosen = make_method(method, **_given(temperature=temperature, alpha=alpha))
    from .students import check_method, make_params

    options = _given(hidden=hidden, channels=channels, epochs=epochs, patience=patience, lr=lr,
                     batch_size=batch_size)
    make_params(student, options)
    check_method(student, chosen.name)
    teacher_obj = load_teacher(teacher) if teacher is not None else None
    if data is None:
        if teacher_obj is None:
            raise OptionError("--method hard without a teacher needs --data (e.g. --data digits)")
        dataset = teacher_obj.run.dataset()
        data = teacher_obj.run.manifest["data"]["source"]
    else:
        dataset = load_dataset(data, seed=seed)
    run = fit_run(out=out, kind="student", family=student, options=options, method=chosen, dataset=dataset,
                  data_source=data, seed=seed, teacher=teacher_obj, overwrite=overwrite)
    _summary(run, as_json)


@app.command()
@fails_cleanly
def export(
    runs: Annotated[list[Path], typer.Argument(help="Run directories to export.")],
    opset: Annotated[int, typer.Option(help="ONNX opset.")] = 18,
    as_json: JsonFlag = False,
):
    """Write RUN/model.onnx (input -> scores, label), checked against the native model on the test split."""
    from .export import export_run

    results = {}
    for run in runs:
        info = export_run(run, opset=opset)
        results[str(run)] = info
        if not as_json:
            p = info["parity"]
            typer.echo(f"{info['path']}: {info['bytes'] / 1024:.1f} KB, opset {opset}, parity on {p['samples']} "
                       f"test samples: max abs diff {p['max_abs_diff']:.2g}, labels {p['label_agreement']:.2%}")
    if as_json:
        _print_json(results)


@app.command()
@fails_cleanly
def bench(
    runs: Annotated[list[Path], typer.Argument(help="Exported run directories (students and the teacher).")],
    data: Annotated[str | None, typer.Option(help="Data to measure on (default: the runs' own); its test split is used.")] = None,
    teacher: Annotated[Path | None, typer.Option(help="Teacher run (default: the run of kind 'teacher').")] = None,
    threads: Annotated[int, typer.Option(help="onnxruntime intra-op threads.")] = 1,
    memory: Annotated[bool, typer.Option(help="Measure peak memory in a fresh process per model.")] = True,
    min_runs: Annotated[int, typer.Option(help="Timed runs per model, at least.")] = 50,
    min_seconds: Annotated[float, typer.Option(help="Timed seconds per model, at least.")] = 1.0,
    json_path: Annotated[str | None, typer.Option("--json", help="Write all figures, raw times included, to PATH ('-' for stdout).")] = None,
):
    """Accuracy, agreement with the teacher, batch-1 latency, memory, size and parameters, side by side."""
    from . import bench as bench_lib
    from ._io import write_json
    from .errors import DataError, OptionError
    from .runs import Run

    loaded = [Run.load(r) for r in runs]
    if teacher is not None and teacher.resolve() not in {r.path.resolve() for r in loaded}:
        loaded.append(Run.load(teacher))
    teacher_path = teacher.resolve() if teacher is not None else None
    teachers = [r for r in loaded if (r.path.resolve() == teacher_path if teacher_path else r.kind == "teacher")]
    if len(teachers) > 1:
        raise OptionError("several teacher runs given; name the one to compare with by --teacher RUN")
    dataset = loaded[0].dataset(data)
    for run in loaded[1:]:
        other = run.dataset(data)
        if other.fingerprint != dataset.fingerprint:
            raise DataError(f"{run.path} was split from other data or with another seed than {loaded[0].path}; "
                            "bench runs made from the same data and --seed")
    entries = [bench_lib.Entry(r.name, r.require_onnx(), "teacher" if r in teachers else "student") for r in loaded]
    x_test, y_test = dataset.split("test")
    result = bench_lib.bench(entries, x_test, y_test, threads=threads, memory=memory,
                             latency_options={"min_runs": min_runs, "min_seconds": min_seconds})
    result["data"] = dataset.describe()
    if json_path == "-":
        _print_json(result)
        return
    if json_path:
        write_json(json_path, result)
    from .table import bench_table

    bench_table(result)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
