"""`kdedge report`: one self-contained HTML page from what runs, benches and sweeps wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import JsonFlag, OverwriteFile, _print_json, app, fails_cleanly


@app.command()
@fails_cleanly
def report(
    root: Annotated[Path, typer.Argument(help="Folder holding runs, recipe outputs, sweeps or bench JSON files.")],
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    include: Annotated[
        list[str] | None,
        typer.Option(help="Only folders whose path under ROOT matches this glob (repeatable), e.g. 'sweep-*/*'."),
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="Leave out folders matching this glob (repeatable).")
    ] = None,
    latest: Annotated[int | None, typer.Option(min=1, help="Only the N most recently created runs.")] = None,
    bench_missing: Annotated[
        bool,
        typer.Option(help="Bench exported runs no bench file covers, so every run is in the figures (said so)."),
    ] = True,
    bench_seconds: Annotated[float, typer.Option(min=0.0, help="Timed seconds per run benched by the report.")] = 0.3,
    overwrite: OverwriteFile = False,
    as_json: JsonFlag = False,
):
    """Bench tables, accuracy vs latency and vs size with the Pareto front, sweep tables, and every run's recipe
    and versions, on one HTML page (images inline). Figures come from bench files (`kdedge bench --out`, recipes,
    sweeps); exported runs none of them measured are benched here, briefly, and marked so. Latencies from different
    machines or loads are plotted apart."""
    from ..errors import require
    from ..outputs import check_out_file, claiming

    with claiming(out):  # one writer per output file, from the check to the write
        check_out_file(out, overwrite, "report-html")
        require("matplotlib")
        from ..report import build_report
        from ..report.collect import Selection

        selection = Selection(tuple(include or ()), tuple(exclude or ()), latest)
        summary = build_report(root, out, selection, bench_seconds if bench_missing else None)
    if as_json:
        _print_json(summary)
        return
    typer.echo(
        f"{out}: {len(summary['runs'])} runs, {len(summary['bench_results'])} bench tables, "
        f"{len(summary['sweeps'])} sweeps, {len(summary['figures'])} figures"
        + (f", {len(summary['benched_by_report'])} runs benched here" if summary["benched_by_report"] else "")
        + (f", figures from boards: {', '.join(summary['devices'])}" if summary["devices"] else "")
    )
    for note in summary["notes"]:
        typer.echo(note, err=True)
