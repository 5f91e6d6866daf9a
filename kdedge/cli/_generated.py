"""CLI options generated from the option catalog, so every registry field is a flag by construction."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated

import typer

from ..options import OptionSpec, catalog, flag


def with_registry_options(fn: Callable, keep: Callable[[OptionSpec], bool] = lambda spec: True) -> Callable:
    """Give `fn(..., **options)` one `--name` option per catalog entry that `keep` accepts (default unset: the
    owner's default applies). Typer reads the signature set here; the values arrive in `**options`."""
    signature = inspect.signature(fn, eval_str=True)  # real annotations: the string ones would lose typer.Option
    fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    taken = {p.name for p in fixed}
    generated = []
    for spec in catalog().values():
        if spec.name in taken or not keep(spec):
            continue
        decls = [flag(spec.name)]
        if spec.name.lower() != spec.name:  # --C also as --c
            decls.append(flag(spec.name.lower()))
        option = typer.Option(*decls, help=spec.help, rich_help_panel=spec.panel)
        generated.append(
            inspect.Parameter(
                spec.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[spec.cli_type | None, option],
            )
        )
    fn.__signature__ = signature.replace(parameters=[*fixed, *generated])
    return fn


def given(options: dict) -> dict:
    return {k: v for k, v in options.items() if v is not None}
