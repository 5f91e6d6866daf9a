"""What every command shares: the Typer apps, clean failure, option types and JSON output."""

from __future__ import annotations

import functools
import json
import os
import warnings
from pathlib import Path
from typing import Annotated

import typer

from ..errors import KdedgeError, file_system_refusal, missing_extra

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}  # subcommands inherit it from the group's context
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings=HELP_OPTIONS,
    help="Distill a CNN teacher into small students, export them to ONNX and measure them.",
)
teacher_app = typer.Typer(no_args_is_help=True, context_settings=HELP_OPTIONS, help="Train or inspect teachers.")
app.add_typer(teacher_app, name="teacher")


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"kdedge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Print kdedge's version and exit."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars on stderr, for any command.")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an unexpected error (as KDEDGE_DEBUG=1).")
    ] = False,
) -> None:
    """Distill a CNN teacher into small students, export them to ONNX and measure them."""
    if debug:
        os.environ["KDEDGE_DEBUG"] = "1"
    if quiet:
        from ..progress import quiet as silence

        ctx.with_resource(silence())  # restored when the command ends


Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars on stderr.")]


def fails_cleanly(fn):
    """A KdedgeError, or a file system refusing a write (full, read-only, no permission), becomes one line on stderr
    and exit code 2. Writes are atomic (`kdedge._io`), so nothing is half-written. Anything else is a bug: one line
    and exit code 1, with the traceback under `kdedge --debug` or KDEDGE_DEBUG=1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        # Library warnings (numpy, torch) are held while the command runs: shown once it ends, dropped when it
        # ends in an error line, so that line stays the only one (all of them under --debug).
        from ..progress import drop_held, release_held

        with warnings.catch_warnings(record=True) as held:
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                drop_held()
                if type(exc).__module__.split(".")[0] in ("typer", "click"):  # Exit, Abort, usage errors: theirs
                    _show(held)
                    raise
                line, code = _one_line(exc)
                if os.environ.get("KDEDGE_DEBUG"):
                    _show(held)
                    if code == 1:
                        raise
                typer.echo(f"error: {line}", err=True)
                raise typer.Exit(code) from None
        release_held()
        _show(held)
        return result

    return wrapper


def _show(held: list) -> None:
    for w in held:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _one_line(exc: Exception) -> tuple[str, int]:
    """(the line to print, the exit code) for an exception leaving a command."""
    if isinstance(exc, KdedgeError):
        return str(exc), 2
    if isinstance(exc, ModuleNotFoundError) and missing_extra(exc) is not None:  # a core-only install
        return str(missing_extra(exc)), 2
    refused = file_system_refusal(exc)
    if refused is not None:
        return refused, 2
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return (
        f"unexpected {type(exc).__name__}: {first} (a bug: rerun with kdedge --debug for the traceback and report it)",
        1,
    )


def _given(**options) -> dict:
    return {k: v for k, v in options.items() if v is not None}


def _print_json(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


Seed = Annotated[int, typer.Option(help="Seed for the data split, initial weights and batch order.")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace --out if it exists (only what kdedge made).")]
OverwriteFile = Annotated[
    bool, typer.Option("--overwrite", help="Replace the output file if it exists and kdedge wrote it.")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
CacheDir = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir", help="Folder of the shared teacher-output cache (default: KDEDGE_CACHE_DIR or ~/.cache/kdedge)."
    ),
]
Device = Annotated[
    str | None,
    typer.Option(
        "--device",
        help="Where neural training runs: auto (a GPU when one exists, else the CPU; the default), cpu, cuda, "
        "cuda:N or mps. Export and bench stay on the CPU.",
    ),
]
Nproc = Annotated[
    int,
    typer.Option(
        "--nproc",
        min=1,
        help="Train a neural student in N processes on this machine with torch DDP (gloo on the CPU, nccl on GPUs); "
        "the same run as one process (see README, Past one machine).",
        rich_help_panel="Processes",
    ),
]
Nnodes = Annotated[
    int,
    typer.Option(
        "--nnodes",
        min=1,
        help="Machines training together (run the same command on each, with --rdzv-endpoint).",
        rich_help_panel="Processes",
    ),
]
RdzvEndpoint = Annotated[
    str | None,
    typer.Option(
        "--rdzv-endpoint",
        help="HOST:PORT where the machines of --nnodes meet (torch's c10d rendezvous; one of them hosts it).",
        rich_help_panel="Processes",
    ),
]
Backend = Annotated[
    str,
    typer.Option(
        "--backend",
        help="Where the work runs: local (this machine) or dask (the workers of --scheduler).",
        rich_help_panel="Processes",
    ),
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Dask scheduler address for --backend dask, e.g. tcp://10.0.0.5:8786.",
        rich_help_panel="Processes",
    ),
]
TrainThreads = Annotated[
    int | None,
    typer.Option(
        "--threads",
        min=1,
        help="CPU threads for training and the teacher's outputs (default: every CPU this process may use, or "
        "KDEDGE_THREADS / OMP_NUM_THREADS); recorded in the run.",
    ),
]


def _summary(run, as_json: bool) -> None:
    baseline = run.manifest.baseline
    if as_json:
        _print_json({"run": str(run.path), **run.metrics, **({"baseline": baseline} if baseline else {})})
        return
    m = run.metrics
    # non-neural students have no epochs; they report their fit time instead
    when = f"epoch {m['best_epoch']}" if "best_epoch" in m else f"fit {m.get('fit_seconds', 0):.1f} s"
    line = f"{run.kind} {run.family} -> {run.path}: val acc {m['val_accuracy']:.4f}"
    if "val_agreement" in m:  # fidelity on val (Stanton et al.): what selection may use, unlike test
        line += f", val agreement {m['val_agreement']:.4f}"
    if "val_kl" in m:
        line += f", val KL {m['val_kl']:.3f}"
    by = f", by {m['selected_by']}" if "selected_by" in m else ""
    line += f" ({when}{by}), test acc {m['test_accuracy']:.4f}"
    if "test_agreement_with_teacher" in m:
        line += f", agreement with teacher {m['test_agreement_with_teacher']:.4f}"
    typer.echo(line + f", {run.manifest.student.n_params} params")
