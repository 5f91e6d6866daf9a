"""Progress bars on stderr (rich), so stdout stays clean for tables and --json."""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def progress_bar(label: str, total: int):
    """Yield `advance(status)`; draws a bar when stderr is a terminal and KDEDGE_QUIET is unset."""
    if os.environ.get("KDEDGE_QUIET") or not sys.stderr.isatty():
        yield lambda status="": None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(label, total=total, status="")

        def advance(status: str = "") -> None:
            progress.update(task, advance=1, status=status)

        yield advance
