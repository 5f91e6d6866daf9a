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
    app()


__all__ = ["app", "main"]
