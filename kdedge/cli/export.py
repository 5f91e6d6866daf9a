"""`kdedge export`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import JsonFlag, _print_json, app, fails_cleanly


@app.command()
@fails_cleanly
def export(
    runs: Annotated[list[Path], typer.Argument(help="Run directories to export.")],
    opset: Annotated[int, typer.Option(help="ONNX opset.")] = 18,
    as_json: JsonFlag = False,
):
    """Write RUN/model.onnx (input -> scores, label), checked against the native model on the test split."""
    from ..export import export_run

    results = {}
    for run in runs:
        info = export_run(run, opset=opset)
        results[str(run)] = info
        if not as_json:
            p = info["parity"]
            typer.echo(
                f"{info['path']}: {info['bytes'] / 1024:.1f} KB, opset {opset}, parity on {p['samples']} "
                f"test samples: max abs diff {p['max_abs_diff']:.2g}, labels {p['label_agreement']:.2%}"
            )
    if as_json:
        _print_json(results)
