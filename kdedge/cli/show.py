"""`kdedge show RUN` and `kdedge compare RUN...`: what runs are, from their manifests (nothing is measured)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import JsonFlag, _print_json, app, fails_cleanly


@app.command("show")
@fails_cleanly
def show(
    run: Annotated[Path, typer.Argument(help="A run directory (made by teacher train, distill or a recipe).")],
    as_json: JsonFlag = False,
):
    """What a run is: kind, family, teacher, method, options, data, metrics, files with sizes, export and any
    bench figures stored beside it."""
    from rich.table import Table
    from rich.text import Text

    from ..describe import describe, fields
    from ..runs import Run
    from ..table import console_for

    described = describe(Run.load(run))
    if as_json:
        _print_json(described)
        return
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for label, text in fields(described).items():
        table.add_row(Text(label), Text(text))  # Text: a path or "[bench.json]" is not markup
    console = console_for(None, widest=100, highlight=False)
    console.print(f"run {described['run']}", markup=False)
    console.print(table)


@app.command("compare")
@fails_cleanly
def compare(
    runs: Annotated[list[Path], typer.Argument(help="Two or more run directories.")],
    all_rows: Annotated[bool, typer.Option("--all", help="Also show the rows where every run is the same.")] = False,
    as_json: JsonFlag = False,
):
    """Runs side by side: options, metrics, sizes and stored bench figures; by default only the rows that differ
    (and the kind, family and test accuracy, always)."""
    from rich.table import Table
    from rich.text import Text

    from ..describe import describe, fields, ordered
    from ..errors import OptionError
    from ..runs import Run
    from ..table import console_for

    if len(runs) < 2:
        raise OptionError("compare needs two or more run directories (kdedge show RUN describes one)")
    described = [describe(Run.load(r)) for r in runs]
    columns = [fields(d) for d in described]
    labels = ordered(label for column in columns for label in column)
    differ = [label for label in labels if len({column.get(label, "—") for column in columns}) > 1]
    if as_json:
        _print_json({"runs": described, "differ": differ})
        return
    always = {"kind", "metric test_accuracy", "vs labels (val)"}
    shown = [label for label in labels if all_rows or label in differ or label in always]
    table = Table(title=f"{len(runs)} runs" + ("" if all_rows else " (rows that differ; --all for every row)"))
    table.add_column("", style="bold", no_wrap=True)
    for d in described:
        table.add_column(Text(Path(d["run"]).name), overflow="fold")
    for label in shown:
        table.add_row(Text(label), *(Text(column.get(label, "—")) for column in columns))
    console = console_for(table, widest=max(100, 30 + 40 * len(runs)), highlight=False)
    console.print(table)
    for d in described:
        console.print(f"{Path(d['run']).name}: {d['run']}", markup=False)
