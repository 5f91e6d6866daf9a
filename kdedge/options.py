"""The one option path: a flat mapping of options routed once, against the registries, to the student's params, the
method and the transfer set.

Every surface goes through here: the CLI (whose student, method and transfer options are generated from
`catalog()`), recipes (a student table's free keys), `kdedge search` (a trial's choices) and the Python API
(`kdedge.distill(..., hidden=64, temperature=2)`). A key goes to every owner that declares it (`temperature` to a
method, `epochs` to a neural family's params); a key no owner declares is refused in one line that says where it
does apply. Nothing here lists option names: a new family, method, transfer kind or view op brings its own fields.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from .errors import OptionError

PANELS = {
    "family": "Student options (see kdedge students)",
    "schedule": "Training schedule (neural students)",
    "method": "Method options (see kdedge methods)",
    "transfer": "Transfer set",
}


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def owners(family: str, method: str, transfer: str = "train") -> list[tuple[str, type[BaseModel]]]:
    """Who takes free keys: the family's Params, the method and the transfer kind (looked up every time)."""
    from .distillation.methods import METHODS, make_method
    from .distillation.transfer import transfer_class
    from .students import student_class

    if method not in METHODS:
        make_method(method)  # raises the one-line error listing the methods
    return [
        ("family", student_class(family).Params),
        ("method", METHODS[method]),
        ("transfer", transfer_class(transfer)),
    ]


def split(options: dict, owned_by: list[tuple[str, type[BaseModel]]]) -> dict[str, dict] | str:
    """Options by owner (a key goes to every owner that declares it); the first key no owner declares, else."""
    routed: dict[str, dict] = {name: {} for name, _ in owned_by}
    for key, value in options.items():
        takers = [name for name, model in owned_by if key in model.model_fields]
        if not takers:
            return key
        for name in takers:
            routed[name][key] = value
    return routed


@dataclass
class Routed:
    """What `route` returns: validated objects, plus the family's own options as given (what the run records)."""

    family: str
    params: BaseModel
    method: typing.Any  # a distill.methods.Method
    transfer: typing.Any  # a distill.transfer.TransferSet
    family_options: dict = field(default_factory=dict)


def route(family: str, method: str = "kd", transfer: str = "train", options: dict | None = None) -> Routed:
    """Validate `options` for this family, method and transfer kind, and check that the three fit together."""
    from .distillation.methods import check_method, make_method
    from .distillation.transfer import check_method_fits, check_online_fits, make_transfer
    from .students import make_params, student_class

    options = {k: v for k, v in (options or {}).items() if v is not None}
    owned_by = owners(family, method, transfer)
    routed = split(options, owned_by)
    if isinstance(routed, str):
        raise OptionError(_not_applicable(routed, family, method, transfer))
    params = make_params(family, routed["family"])
    chosen = make_method(method, **routed["method"])
    transfer_set = make_transfer(transfer, **routed["transfer"])
    check_method(family, method)
    check_method_fits(transfer_set, chosen)
    check_online_fits(transfer_set, chosen, student_class(family).neural)
    return Routed(family, params, chosen, transfer_set, routed["family"])


def _not_applicable(key: str, family: str, method: str, transfer: str) -> str:
    spec = catalog().get(key)
    where = f"; it applies to {spec.applies_to}" if spec else ""
    return f"{flag(key)} does not apply to --student {family}, --method {method} or --transfer {transfer}{where}"


# -- the catalog: every option some registry entry declares ------------------------------------------------------


@dataclass
class OptionSpec:
    name: str
    cli_type: type  # what the CLI parses it as; pydantic validates the value either way
    descriptions: list[str]
    panel: str
    owners: list[str]  # e.g. "--student mlp", "--method kd", "--transfer shift"

    @property
    def help(self) -> str:
        return "; ".join(dict.fromkeys(self.descriptions)) + f" [{self.applies_to}]"

    @property
    def applies_to(self) -> str:
        """`--student mlp, cnn, resnet; --method kd`: the owners, grouped by flag."""
        grouped: dict[str, list[str]] = {}
        for owner in self.owners:
            option, name = owner.split(" ", 1)
            grouped.setdefault(option, []).append(name)
        return "; ".join(f"{option} {', '.join(names)}" for option, names in grouped.items())


def registry_models() -> list[tuple[str, str, type[BaseModel]]]:
    """(owner kind, owner label, model) for every family that distills, every method and every transfer kind."""
    from .distillation.methods import METHODS
    from .distillation.transfer import TRANSFERS
    from .students import STUDENTS, student_class

    student_class("mlp")  # registers every family, and loads plug-ins
    models = [("family", f"--student {n}", cls.Params) for n, cls in STUDENTS.items() if cls.distilled]
    models += [("method", f"--method {n}", cls) for n, cls in METHODS.items()]
    models += [("transfer", f"--transfer {n}", cls) for n, cls in TRANSFERS.items()]
    return models


def catalog() -> dict[str, OptionSpec]:
    from .students.training import TrainConfig

    found: dict[str, OptionSpec] = {}
    for kind, label, model in registry_models():
        for name, info in model.model_fields.items():
            panel = PANELS["schedule"] if kind == "family" and name in TrainConfig.model_fields else PANELS[kind]
            spec = found.setdefault(name, OptionSpec(name, _cli_type(model, name), [], panel, []))
            spec.descriptions.append(info.description or name.replace("_", " "))
            spec.owners.append(label)
    return found


def _cli_type(model: type[BaseModel], name: str) -> type:
    """int, float or Path when the field is plainly one; str otherwise (pydantic parses lists, `5x`, choices)."""
    for decorator in model.__pydantic_decorators__.field_validators.values():
        if name in decorator.info.fields and decorator.info.mode in ("before", "plain", "wrap"):
            return str  # the field parses text itself (`128,64`, `5x`)
    annotation = model.model_fields[name].annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)] if _is_union(annotation) else [annotation]
    if len(args) == 1:
        plain = args[0]
        if plain in (int, float):
            return plain
        if isinstance(plain, type) and issubclass(plain, Path):
            return Path
        if typing.get_origin(plain) is typing.Annotated and typing.get_args(plain)[0] is Path:
            return Path
    return str


def _is_union(annotation) -> bool:
    import types

    return typing.get_origin(annotation) in (typing.Union, types.UnionType)
