"""`kdedge bench`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import _print_json, app, fails_cleanly


@app.command()
@fails_cleanly
def bench(
    runs: Annotated[list[Path], typer.Argument(help="Exported run directories (students and the teacher).")],
    data: Annotated[
        str | None, typer.Option(help="Data to measure on (default: the runs' own); its test split is used.")
    ] = None,
    teacher: Annotated[Path | None, typer.Option(help="Teacher run (default: the run of kind 'teacher').")] = None,
    threads: Annotated[int, typer.Option(help="onnxruntime intra-op threads.")] = 1,
    memory: Annotated[bool, typer.Option(help="Measure peak memory in a fresh process per model.")] = True,
    min_runs: Annotated[int, typer.Option(help="Timed runs per model, at least.")] = 50,
    min_seconds: Annotated[float, typer.Option(help="Timed seconds per model, at least.")] = 1.0,
    json_path: Annotated[
        str | None, typer.Option("--json", help="Write all figures, raw times included, to PATH ('-' for stdout).")
    ] = None,
):
    """Accuracy, agreement with the teacher, batch-1 latency, memory, size and parameters, side by side."""
    from .. import bench as bench_lib
    from .._io import write_json
    from ..errors import DataError, OptionError
    from ..runs import Run

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
            raise DataError(
                f"{run.path} was split from other data or with another seed than {loaded[0].path}; "
                "bench runs made from the same data and --seed"
            )
    entries = [bench_lib.Entry(r.name, r.require_onnx(), "teacher" if r in teachers else "student") for r in loaded]
    x_test, y_test = dataset.split("test")
    result = bench_lib.bench(
        entries,
        x_test,
        y_test,
        threads=threads,
        memory=memory,
        latency_options={"min_runs": min_runs, "min_seconds": min_seconds},
    )
    result["data"] = dataset.describe()
    if json_path == "-":
        _print_json(result)
        return
    if json_path:
        write_json(json_path, result)
    from ..table import bench_table

    bench_table(result)
