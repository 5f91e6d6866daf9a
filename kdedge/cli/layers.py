"""`kdedge teacher layers`: the named layers of a torch teacher, to pick --hint-layer / --fsp-pairs from."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import JsonFlag, _print_json, fails_cleanly, teacher_app


@teacher_app.command("layers")
@fails_cleanly
def teacher_layers(
    teacher: Annotated[str, typer.Argument(help="A kdedge run directory (a teacher or any torch student).")],
    depth: Annotated[
        int | None, typer.Option("--depth", help="Show module paths down to this many levels (1: stages).")
    ] = None,
    as_json: JsonFlag = False,
):
    """Named layers (module paths) with their output shapes for one sample."""
    from ..errors import OptionError
    from ..teachers import load_teacher

    if depth is not None and depth < 1:
        raise OptionError(f"--depth {depth}: give 1 or more (1: the stages)")
    loaded = load_teacher(teacher)
    layers = getattr(loaded, "layers", None)
    if not callable(layers):
        raise OptionError(
            f"teacher {teacher} exposes no named layers (ONNX graphs do not); use a kdedge run or TorchScript teacher"
        )
    rows = [r for r in layers() if depth is None or r["layer"].count(".") < depth]
    if as_json:
        _print_json(rows)
        return
    from rich.table import Table

    from ..table import console_for

    table = Table(title=f"layers of {teacher} (output shape per sample)")
    for col in ("layer", "type", "output shape", "params"):
        table.add_column(col, justify="right" if col == "params" else "left")
    for r in rows:
        shape = "—" if r["output_shape"] is None else " × ".join(map(str, r["output_shape"]))
        table.add_row(r["layer"], r["type"], shape, f"{r['params']:,}")
    console_for(table, widest=120).print(table)
