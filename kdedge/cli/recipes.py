"""`kdedge run`, `kdedge recipes` and `kdedge sweep`: the whole path from one declarative file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import JsonFlag, Overwrite, Quiet, _print_json, app, fails_cleanly

RecipeArg = Annotated[
    str, typer.Argument(help="A recipe .toml, the short name of a shipped one (see `kdedge recipes`), or a recipe run.")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a recipe key, e.g. --set teacher.epochs=2 --set student.temperature=8 "
        "(student.K: every student that takes K; students.NAME.K: one student).",
    ),
]


TrustCode = Annotated[
    bool,
    typer.Option("--trust-code", help="Allow the recipe's teacher.factory to run its Python code (read it first)."),
]


def _err(line: str) -> None:
    typer.echo(line, err=True)


@app.command("run")
@fails_cleanly
def run(
    recipe: RecipeArg,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: runs/RECIPE_NAME).")] = None,
    set_: SetOption = None,
    overwrite: Overwrite = False,
    trust_code: TrustCode = False,
    as_json: JsonFlag = False,
):
    """Run a recipe: teacher -> students -> export -> bench; ends with the bench table (and OUT/bench.json)."""
    from ..recipes import load_recipe, run_recipe
    from ..recipes.address import parse_set

    loaded = load_recipe(recipe, [parse_set(s) for s in set_ or []])  # fully validated before any work
    out = out or Path("runs") / loaded.name
    result = run_recipe(loaded, out, overwrite=overwrite, log=_err, trust_code=trust_code)
    if as_json:
        _print_json(result)
        return
    from ..table import bench_table

    bench_table(result)
    _err(f"wrote {out}/bench.json; rerun exactly with: kdedge run {out} --out NEW_FOLDER")


@app.command("recipes")
@fails_cleanly
def recipes(as_json: JsonFlag = False):
    """List the shipped recipes (`kdedge run NAME`)."""
    from ..recipes import shipped_recipes

    rows = shipped_recipes()
    if as_json:
        _print_json(rows)
        return
    from rich.table import Table

    from ..table import console_for

    table = Table(title="shipped recipes (kdedge run NAME --out runs/NAME)")
    table.add_column("name")
    table.add_column("description")
    for row in rows:
        table.add_row(row["name"], row["description"])
    console_for(table, widest=160).print(table)


@app.command("sweep")
@fails_cleanly
def sweep(
    recipe: RecipeArg,
    out: Annotated[Path | None, typer.Option(help="Sweep folder (default: runs/sweep-RECIPE_NAME).")] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            help="KEY=V1,V2,... (repeatable); adds to the recipe's \\[sweep.grid]. "  # \\[: not rich markup
            "E.g. --grid student.temperature=1,4,8 --grid seed=0,1,2"
        ),
    ] = None,
    set_: SetOption = None,
    jobs: Annotated[int | None, typer.Option(help="Combinations run at once (default: the recipe's, else 1).")] = None,
    backend: Annotated[str, typer.Option(help="local (processes on this machine) or dask.")] = "local",
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address for --backend dask, e.g. tcp://10.0.0.5:8786.")
    ] = None,
    overwrite: Overwrite = False,
    trust_code: TrustCode = False,
    as_json: JsonFlag = False,
    quiet: Quiet = False,
):
    """Run every combination of a grid over recipe keys, each in its own folder, and tabulate mean ± std over
    seeds. Finished combinations are skipped, so rerunning an interrupted sweep resumes it."""
    from ..recipes import load_recipe
    from ..recipes.address import parse_grid, parse_set
    from ..sweep import plan_sweep, run_sweep

    loaded = load_recipe(recipe, [parse_set(s) for s in set_ or []])
    plan = plan_sweep(loaded, [parse_grid(g) for g in grid or []], out or Path("runs") / f"sweep-{loaded.name}")
    from ..progress import quiet as silence

    with silence(quiet):  # the bar, and the line per finished job
        log = (lambda line: None) if quiet else _err
        summary = run_sweep(
            plan, jobs=jobs, backend=backend, scheduler=scheduler, overwrite=overwrite, log=log, trust_code=trust_code
        )
    if as_json:
        _print_json(summary)
    else:
        typer.echo(summary["markdown"])
        _err(f"wrote {summary['csv']}, {summary['markdown_path']} and {summary['json_path']}")
    if summary["failed"]:
        from ..errors import RunError

        first = summary["failed"][0]
        raise RunError(
            f"{len(summary['failed'])} of {summary['combinations']} combinations failed (first: {first['name']}: "
            f"{first['error']}); fix the cause and rerun the same command: finished combinations are skipped"
        )
