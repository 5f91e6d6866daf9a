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
