"""Options as values: pydantic validation errors as one line a user can act on, lists of numbers, the Pareto front."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from .errors import OptionError


@dataclass(frozen=True)
class FieldError:
    """The first problem pydantic found, as every surface reports it (flags, recipe keys, profile keys, manifests)."""

    loc: tuple
    kind: str  # pydantic's error type: extra_forbidden, missing, int_parsing...
    message: str
    value: object

    @property
    def key(self) -> str:
        """('students', 2, 'method') -> 'students[2].method'."""
        out = ""
        for part in self.loc:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out


def check_seed(seed) -> int:
    """A seed numpy, torch and optuna all accept: a whole number in 0 .. 2**32 - 1 (numpy refuses negatives)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise OptionError(f"--seed {seed}: give a whole number from 0 to {2**32 - 1}")
    return seed


def first_error(exc: ValidationError) -> FieldError:
    err = exc.errors()[0]
    return FieldError(tuple(err["loc"]), err["type"], err["msg"].removeprefix("Value error, "), err.get("input"))


def validate_params(model: type[BaseModel], values: dict, context: str) -> BaseModel:
    try:
        return model(**values)
    except ValidationError as exc:
        err = first_error(exc)
        flag = "--" + (err.key or "value").replace("_", "-")
        if err.kind == "extra_forbidden":
            allowed = ", ".join(f"--{k.replace('_', '-')}" for k in model.model_fields) or "none"
            raise OptionError(f"{flag} does not apply to {context} (options: {allowed})") from None
        if err.kind == "missing":
            raise OptionError(f"{context} needs {flag}; pass it") from None
        if not err.loc:  # a check across options (a model validator): its message names them
            raise OptionError(f"{context}: {err.message}") from None
        value = str(err.value) if isinstance(err.value, Path) else repr(err.value)
        raise OptionError(f"{context}: {flag}={value}: {err.message}") from None


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
