"""`kdedge ensemble`: several runs voting as one run, exported as one ONNX graph."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import JsonFlag, Overwrite, _print_json, app, fails_cleanly


@app.command()
@fails_cleanly
def ensemble(
    runs: Annotated[list[Path], typer.Argument(help="Finished runs made from the same data and split.")],
    out: Annotated[Path, typer.Option(help="Ensemble run directory to create.")],
    vote: Annotated[
        str, typer.Option(help="mean: average of the members' probabilities; majority: most votes wins.")
    ] = "mean",
    best: Annotated[int | None, typer.Option(help="Keep only the N members with the best validation accuracy.")] = None,
    overwrite: Overwrite = False,
    as_json: JsonFlag = False,
):
    """Combine runs into one ensemble run (members copied in); `kdedge export OUT` writes a single graph."""
    from ..students.ensemble import build_ensemble

    run = build_ensemble(runs, vote, out, best=best, overwrite=overwrite)
    m = run.metrics
    if as_json:
        _print_json({"run": str(run.path), **m})
        return
    for member in m["members"]:
        mark = "kept" if member["kept"] else "left out"
        typer.echo(f"  {member['run']}: val acc {member['val_accuracy']:.4f} ({mark})")
    kept = sum(member["kept"] for member in m["members"])
    typer.echo(
        f"ensemble of {kept} ({vote} vote) -> {run.path}: val acc {m['val_accuracy']:.4f}, "
        f"test acc {m['test_accuracy']:.4f}, {run.manifest.student.n_params} params"
    )
