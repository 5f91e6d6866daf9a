"""Turn pydantic validation errors into one line a user can act on."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from .errors import OptionError


def validate_params(model: type[BaseModel], values: dict, context: str) -> BaseModel:
    try:
        return model(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "value"
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(f"--{k.replace('_', '-')}" for k in model.model_fields) or "none"
            raise OptionError(f"--{key.replace('_', '-')} does not apply to {context} (options: {allowed})") from None
        message = err["msg"].removeprefix("Value error, ")
        if not err["loc"]:  # a check across options (a model validator): its message names them
            raise OptionError(f"{context}: {message}") from None
        raise OptionError(f"{context}: --{key.replace('_', '-')}={err.get('input')!r}: {message}") from None


def number_list(value, kind: type = int):
    """`128,64` (CLI), `[128, 64]` (TOML) or `128` -> a list of `kind`; other values pass through to pydantic.
    Used as a `mode="before"` validator by every option that takes a list of numbers."""
    if isinstance(value, str):
        try:
            return [kind(v) for v in value.replace(" ", "").split(",") if v]
        except ValueError:
            raise ValueError(f"expected comma-separated {kind.__name__}s, got {value!r}") from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [kind(value)]
    return value


def pareto_front(items: list, cost, value) -> list:
    """The items no other beats on both axes (higher `value(item)` at lower or equal `cost(item)`), cheapest
    first: what the report's plots and the search's tables both draw."""
    front, best = [], float("-inf")
    for item in sorted(items, key=lambda i: (cost(i), -value(i))):
        if value(item) > best:
            front.append(item)
            best = value(item)
    return front
