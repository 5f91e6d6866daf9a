"""The options `kdedge bench` takes, declared once: bench timing (also read by `teacher eval` and `search`), the data
to measure on, and the outputs. Their defaults live in kdedge.measure.timing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

BenchRuns = Annotated[list[Path] | None, typer.Argument(help="Exported run directories (students and the teacher).")]
BenchModels = Annotated[
    list[Path] | None,
    typer.Option(
        "--model",
        help="A bare ONNX file to bench (repeatable); without runs or --data, on the data its export recorded.",
    ),
]
BenchData = Annotated[
    str | None,
    typer.Option(help="Data whose test split to measure on (default: the runs' own, or a model's recorded data)."),
]
TestSet = Annotated[
    Path | None,
    typer.Option(
        help="A test split saved by `kdedge bench --on` (.npz): measure --model files on it as it is, unsplit."
    ),
]
BenchSeed = Annotated[
    int | None, typer.Option(help="Split seed for --data with --model only (default: the model's, else 0).")
]
BenchTeacher = Annotated[
    Path | None, typer.Option(help="Teacher run or .onnx (default: the run or model of kind 'teacher').")
]
Threads = Annotated[str | None, typer.Option(help="onnxruntime intra-op threads, one or a sweep: 1,2,4 (default: 1).")]
BatchSizes = Annotated[str | None, typer.Option(help="Batch sizes to time, one or a sweep: 1,8,64 (default: 1).")]
BenchTarget = Annotated[
    str | None, typer.Option(help="Take threads, batch sizes and inter-op threads from this export target's profile.")
]
Int8 = Annotated[bool, typer.Option(help="Also bench RUN/model.int8.onnx where an int8 export made one.")]
Memory = Annotated[bool, typer.Option(help="Measure peak memory in a fresh process per model.")]
MinRuns = Annotated[int, typer.Option(help="Timed runs per model and combination, at least.")]
MinSeconds = Annotated[float, typer.Option(help="Timed seconds per model and combination, at least.")]
BenchJson = Annotated[
    bool, typer.Option("--json", help="Print all figures, raw times included, as JSON on stdout (no table).")
]
BenchOut = Annotated[
    Path | None, typer.Option("--out", help="Also write all figures as JSON to this file (for kdedge report).")
]
BenchCsv = Annotated[
    Path | None, typer.Option("--csv", help="Also write one CSV row per model and (threads, batch) to this file.")
]
Columns = Annotated[
    str | None,
    typer.Option(
        help="Table columns: 'all', or a comma list of ids (model, family, prec, acc, agree, kl, p50, p90, p99, "
        "first, init, mem, mem_raw, size, params, p50_xT, p50_xT_raw, size_xT, params_xT). Default: the key ones."
    ),
]
