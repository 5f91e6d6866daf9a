"""`kdedge students` and `kdedge methods`: what the registries hold, with each entry's options."""

from __future__ import annotations

from ._common import JsonFlag, _print_json, app, fails_cleanly


def _options(model) -> str:
    return ", ".join(f"--{name.replace('_', '-')}" for name in model.model_fields)


@app.command()
@fails_cleanly
def students(as_json: JsonFlag = False):
    """List the student families, the methods each accepts and their options."""
    from ..distillation.methods import methods_for
    from ..students import STUDENTS, student_class

    student_class("mlp")  # importing any family registers them all
    rows = [
        {
            "family": name,
            "summary": cls.summary,
            "methods": methods_for(cls) or ["(made by kdedge ensemble)"],
            "options": _options(cls.Params),
        }
        for name, cls in sorted(STUDENTS.items())
    ]
    _render(rows, as_json, ("family", "methods", "summary", "options"))


@app.command()
@fails_cleanly
def methods(as_json: JsonFlag = False):
    """List the distillation methods and their options."""
    from ..distillation.methods import METHODS

    rows = [
        {"method": name, "summary": cls.summary, "needs_teacher": cls.needs_teacher, "options": _options(cls)}
        for name, cls in METHODS.items()
    ]
    _render(rows, as_json, ("method", "summary", "options"))


def _render(rows: list[dict], as_json: bool, columns: tuple[str, ...]) -> None:
    if as_json:
        _print_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*(", ".join(v) if isinstance(v, list) else str(v) for v in (row[c] for c in columns)))
    Console().print(table)
