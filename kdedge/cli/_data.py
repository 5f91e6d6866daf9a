"""The options every command that reads --data shares: the format and the readers' own options."""

from __future__ import annotations

from typing import Annotated

import typer

DataFormat = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="Force the data format: npz, npy, csv, images, cifar, idx (default: detected).",
        rich_help_panel="Data",
    ),
]


def reader_option_specs() -> dict[str, tuple[str, bool, list[str]]]:
    """name -> (help, is a yes/no flag, who takes it) for every option of every reader and built-in data set
    (plug-ins included), so a reader's option is a flag of every command that reads --data by construction."""
    from ..data.readers import BUILTIN_OPTIONS, READERS
    from ..plugins import load_plugins

    load_plugins()
    owners = [(f"--format {name}", r.options) for name, r in READERS.items()]
    owners += [(f"--data {name}", options) for name, options in BUILTIN_OPTIONS.items()]
    found: dict[str, tuple[list[str], bool, list[str]]] = {}
    for owner, options in owners:
        for key, option in options.items():
            helps, flag, takers = found.setdefault(key, ([], option.flag, []))
            helps.append(f"{owner.split()[-1]}: {option.help}")
            takers.append(owner)
    return {key: ("; ".join(dict.fromkeys(helps)), flag, takers) for key, (helps, flag, takers) in found.items()}


def with_reader_options(fn):
    """Give `fn(..., **options)` one option per reader option (see `reader_option_specs`), in the Data panel."""
    import inspect

    signature = inspect.signature(fn, eval_str=True)
    params = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    for key, (help_text, flag, _) in reader_option_specs().items():
        name = "--" + key.replace("_", "-")
        decls = [f"{name}/--no-{key.replace('_', '-')}"] if flag else [name]
        option = typer.Option(*decls, help=help_text, rich_help_panel="Data")
        kind = bool if flag else str
        params.append(
            inspect.Parameter(
                key, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[kind | None, option]
            )
        )
    fn.__signature__ = signature.replace(parameters=params)
    return fn


def split_reader_options(options: dict) -> tuple[dict, dict]:
    """(the reader options given, the rest): unset ones left out, so each reader sees only what applies."""
    names = set(reader_option_specs())
    given = {k: v for k, v in options.items() if v is not None}
    return {k: v for k, v in given.items() if k in names}, {k: v for k, v in given.items() if k not in names}
