"""`kdedge search`: the most accurate student that fits a device budget."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..measure.timing import MIN_SECONDS
from ._board import AcceptNewHost, BoardKdedge, BoardTmp, SearchOn, SshConfig
from ._common import Backend, JsonFlag, Quiet, Scheduler, _print_json, app, fails_cleanly


def with_budget_options(fn):
    """One `--max-…` / `--min-…` option per registered budget (kdedge.budget_search.budget.BUDGETS)."""
    import inspect

    from ..budget_search.budget import BUDGETS

    signature = inspect.signature(fn, eval_str=True)
    fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    budgets = [
        inspect.Parameter(
            kind.option,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[float | None, typer.Option(kind.flag, help=kind.help, rich_help_panel="Budgets")],
        )
        for kind in BUDGETS.values()
    ]
    fn.__signature__ = signature.replace(parameters=[*fixed, *budgets])
    return fn


SearchOut = Annotated[Path | None, typer.Option(help="Search directory to create (trials, study, tables, best/).")]
SearchTeacher = Annotated[str | None, typer.Option(help="Teacher run directory.")]
SearchData = Annotated[str | None, typer.Option(help="Data (default: the teacher's own data and split).")]
SearchTarget = Annotated[
    str | None,
    typer.Option(
        help="Export profile for every trial (see `kdedge targets`); c, c-int8 or an mcu-* profile: trials are "
        "exported to C, timed in C, sized for the profile's microcontroller or a Cortex-M4 (families without "
        "that C are skipped)."
    ),
]
Families = Annotated[str | None, typer.Option(help="Only these families, e.g. mlp,tree.")]
SpaceFile = Annotated[Path | None, typer.Option(help="TOML file replacing the search space.")]
Trials = Annotated[
    int | None,
    typer.Option(help="Trials to run (more with --resume). Default: 30, or as many as --time-budget allows."),
]
TimeBudget = Annotated[
    str | None,
    typer.Option(
        help="Stop after this long (30m, 2h, 1h30m, 900s): no trial starts later, and a neural trial still training "
        "stops at its next epoch. The winner among finished trials is then measured on test."
    ),
]
Prune = Annotated[
    bool,
    typer.Option(
        "--prune/--no-prune",
        help="Stop neural trials outside the top third of val accuracy at 1/9 and 1/3 of --max-epochs "
        "(asynchronous successive halving), so the budget goes to promising settings.",
    ),
]
Jobs = Annotated[
    int | None,
    typer.Option(help="Workers sharing the study (default: 1 here; with --backend dask, one per Dask worker)."),
]
Sampler = Annotated[str, typer.Option(help="nsga2 or tpe (both multi-objective, budget as constraints).")]
MaxEpochs = Annotated[int, typer.Option(help="Epoch cap for neural students in trials.")]
SearchSeed = Annotated[int, typer.Option(help="Seed for the sampler and every trial.")]
TrialMinSeconds = Annotated[float, typer.Option(help="Timed seconds per trial's latency, at least.")]
Objective = Annotated[str, typer.Option(help="Maximise val accuracy, or val agreement with the teacher (fidelity).")]
Resume = Annotated[Path | None, typer.Option(help="Continue the search in this directory.")]
SearchOverwrite = Annotated[bool, typer.Option("--overwrite", help="Replace --out if it exists.")]


def search(
    out: SearchOut = None,
    teacher: SearchTeacher = None,
    data: SearchData = None,
    target: SearchTarget = None,
    families: Families = None,
    space: SpaceFile = None,
    trials: Trials = None,
    time_budget: TimeBudget = None,
    prune: Prune = True,
    jobs: Jobs = None,
    sampler: Sampler = "nsga2",
    max_epochs: MaxEpochs = 100,
    seed: SearchSeed = 0,
    min_seconds: TrialMinSeconds = MIN_SECONDS,
    objective: Objective = "accuracy",
    resume: Resume = None,
    backend: Backend = "local",
    scheduler: Scheduler = None,
    overwrite: SearchOverwrite = False,
    on: SearchOn = None,
    accept_new_host: AcceptNewHost = False,
    ssh_config: SshConfig = None,
    board_kdedge: BoardKdedge = "kdedge",
    board_tmp: BoardTmp = None,
    as_json: JsonFlag = False,
    quiet: Quiet = False,
    explain: Explain = False,
    **budget,
):
    """Search student families, sizes, methods and transfer sets; keep the most accurate one inside the budget.

    Every trial is distilled, exported (parity gate) and benched like `kdedge bench`; figures are measured on the
    validation split. The winner is copied to OUT/best and measured beside the teacher on the test split.
    """
    from ..api import search as run_search
    from ..budget_search.study import resume_search
    from ..errors import OptionError
    from ..progress import quiet as silence

    with silence(quiet):  # the trial bar and trial lines
        if resume is not None and on is not None:
            raise OptionError(f"--resume measures where the search started ({resume}/search.json); drop --on")
        if resume is not None:
            summary = resume_search(resume, trials, jobs, backend, scheduler, time_budget=time_budget)
            out = resume
        else:
            if out is None or teacher is None:
                raise OptionError("kdedge search needs --teacher RUN and --out DIR (or --resume DIR)")
            summary = run_search(
                teacher, out=out, data=data, trials=trials, time_budget=time_budget, prune=prune, jobs=jobs,
                families=families.split(",") if families else None, space=space, target=target, sampler=sampler,
                objective=objective, max_epochs=max_epochs, min_seconds=min_seconds, seed=seed, overwrite=overwrite,
                **budget, backend=backend, scheduler=scheduler,
                on=_connection(on, accept_new_host, ssh_config, board_kdedge, board_tmp),
            )  # fmt: skip
    _show_summary(summary, out, as_json)
    if explain and not as_json:
        show_recommendations(out)


def _show_summary(summary: dict, out: Path, as_json: bool) -> None:
    if as_json:
        _print_json(summary)
        return
    from ..table import bench_table

    best = summary["best"]
    typer.echo(
        f"{summary['completed']} of {summary['trials']} trials completed, {summary['feasible']} fit the budget; "
        f"best: trial {best['trial']} {best['settings']} (val acc {100 * best['val_accuracy']:.2f} %, "
        f"agreement {100 * best['agreement']:.2f} %)"
    )
    typer.echo(f"tables: {out}/pareto.md, {out}/pareto.csv · plot: {out}/pareto.png · model: {out}/best/model.onnx")
    bench_table(summary["test"])


Explain = Annotated[
    bool, typer.Option("--explain", help="After the summary: what won per family, with the command that retrains it.")
]


def recommend(
    search_dir: Annotated[Path, typer.Argument(help="A search directory (kdedge search --out).")],
    as_json: JsonFlag = False,
):
    """What a search tried per family and the best student of each inside its budget (on val), with the
    `kdedge distill` line that trains it again."""
    from ..api import recommend as recommendations

    if as_json:
        _print_json(recommendations(search_dir))
        return
    show_recommendations(search_dir)


def show_recommendations(search_dir: Path) -> None:
    from rich.table import Table

    from ..api import recommend as recommendations
    from ..table import console_for

    rows = recommendations(search_dir)
    table = Table(title=f"{search_dir}: the best student per family inside the budget (val)")
    for name in ("family", "tried (done/pruned/failed)", "val acc %", "p50 µs", "KB"):
        table.add_column(name, overflow="fold")
    commands = []
    for r in rows:
        best = r["best"] or {}
        tried = f"{r['tried']} ({r['complete']}/{r['pruned']}/{r['fail']})"
        figures = (
            [f"{100 * best['val_accuracy']:.2f}", f"{best['p50_us']:.3g}", f"{best['size_kb']:.1f}"]
            if best
            else ["—"] * 3
        )
        table.add_row(r["family"], tried, *figures)
        if best:
            commands.append(f"{r['family']}: {best['command']}")
    console = console_for(table, widest=100, highlight=False)
    console.print(table)
    for line in commands:
        console.print(line, markup=False, soft_wrap=True)


app.command("recommend")(fails_cleanly(recommend))


def _connection(on, accept_new_host, ssh_config, board_kdedge, board_tmp):
    if on is None:
        return None
    from ..measure.board import Board, Connection

    Board.parse(on)  # a mistyped address fails before the teacher is loaded
    config = str(ssh_config.resolve()) if ssh_config else None  # kept in search.json for --resume from elsewhere
    return Connection(on, accept_new_host, config, board_kdedge, board_tmp)


app.command()(fails_cleanly(with_budget_options(search)))
