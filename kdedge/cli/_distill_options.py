"""The options `kdedge distill` declares itself (the family's, method's and transfer set's are generated from the
registries by `with_registry_options`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DistillOut = Annotated[Path, typer.Option(help="Run directory to create.")]
StudentFamily = Annotated[str, typer.Option(help="Student family (see `kdedge students`).")]
MethodName = Annotated[
    str | None,
    typer.Option(
        help="Distillation method (see `kdedge methods`). Left out with --transfer: the default measured best for "
        "the data's layout and the student's family, said in one line (kdedge.defaults.STUDENT_RECIPES)."
    ),
]
Baseline = Annotated[
    bool | None,
    typer.Option(
        "--baseline/--no-baseline",
        help="Also train the same student on labels alone (RUN/baseline) and record the gain on val. Default: on "
        "where the default teaching has lost to labels on a benchmark (trees and SVMs of images).",
    ),
]
Teachers = Annotated[
    list[str] | None,
    typer.Option(
        help="Teacher: a run directory, TorchScript .pt, .onnx, or weights (.safetensors/.pth) with --factory; "
        "repeat it to distill from their average."
    ),
]
Factory = Annotated[
    str | None, typer.Option(help="For a weights teacher: package.module:build_fn or file.py:build_fn.")
]
Via = Annotated[
    list[Path] | None,
    typer.Option(help="Assistant run(s) between teacher and student, in order; the last one teaches."),
]
Generations = Annotated[
    int | None, typer.Option(help="Born-again: N students of the teacher's architecture in sequence, into OUT/gen1..N.")
]
TeacherData = Annotated[str | None, typer.Option(help="Data (default: the teacher's own data and split).")]
TransferKind = Annotated[
    str | None,
    typer.Option(
        help="train, augment, munge, pool, or view ops shift, mixup, noise joined by + (shift+mixup). Left out with "
        "--method: the default for the data and family (else train, the training split).",
        rich_help_panel="Transfer set",
    ),
]
DistillSeed = Annotated[
    int,
    typer.Option(
        help="Seed for the initial weights, batch order and transfer set. The split stays the teacher run's own "
        "(so test samples are never trained on); with --data, that data is split with this seed."
    ),
]
TargetsBackend = Annotated[
    str,
    typer.Option(
        help="Where the teacher's outputs over the transfer set are computed: local, or dask (the workers of "
        "--scheduler, chunk by chunk, into the same cache).",
        rich_help_panel="Processes",
    ),
]
