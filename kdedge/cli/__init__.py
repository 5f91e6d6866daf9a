"""The `kdedge` command line: parse options, call the library, render tables, map errors to exit codes.

Each command lives in its own module; importing it registers it on `app`. Heavy libraries are imported inside
commands, so `kdedge bench` and `kdedge predict` run with the core install only.
"""

from . import (  # noqa: F401  (registers the commands)
    bench,
    cache,
    catalog,
    ensemble,
    export,
    layers,
    predict,
    recipes,
    report,
    search,
    show,
    teacher,
    train,
)
from ._common import app


def main() -> None:
    """The console script: kdedge's own errors are already one line (fails_cleanly); a usage error that the
    parser finds (an unknown flag, a missing value) is made one line too, instead of click's framed box."""
    import sys

    import typer

    # typer 0.29 carries its own click; BadParameter's base is the UsageError class it raises for every usage error
    usage_error = typer.BadParameter.__mro__[1]
    try:
        code = app(standalone_mode=False)
    except usage_error as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "kdedge"
        print(f"error: {exc.format_message()} (see '{where} --help')", file=sys.stderr)
        sys.exit(2)
    except typer.Abort:  # Ctrl-C: nothing half-written, by the atomic writes
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main"]
