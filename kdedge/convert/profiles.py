"""Export profiles (deployment targets): TOML files that say how to export and how to bench a model.

The shipped profiles live in kdedge/exporters/ (the repo's exporters/ points there) so that `importlib.resources`
finds them in an editable install and in a wheel alike. Loading a profile needs only the core install
(pydantic + tomllib), so a board can read the profile a model was exported with.
"""

from __future__ import annotations

import tomllib
import typing
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import OptionError
from ..params import first_error, number_list

DEFAULT_TARGET = "cpu-fp32"
ALIASES = {"c": "c-host"}  # `kdedge export RUN --target c`
Precision = Literal["fp32", "int8-dynamic", "int8-static"]
# onnxruntime's GraphOptimizationLevel names: ORT_DISABLE_ALL, ORT_ENABLE_BASIC, ORT_ENABLE_EXTENDED, ORT_ENABLE_ALL
GraphOptimization = Literal["disable", "basic", "extended", "all"]


def _positive_ints(value):
    """Accept `[1, 2, 4]` (TOML), `"1,2,4"` (CLI) or `4`."""
    return number_list(value, int)


class Profile(BaseModel):
    """One deployment target. Unknown keys are errors, so a typo never silently falls back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("custom", description="the file name without .toml (set by the loader)")
    description: str = ""
    opset: int = Field(18, ge=13, description="highest ONNX opset the target runtime accepts (>= 13 for QDQ)")
    precision: Precision = "fp32"
    graph_optimization: GraphOptimization = "all"
    standard_ops_only: bool = Field(False, description="refuse graphs with non-standard (e.g. com.microsoft) ops")
    intra_op_threads: list[typing.Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [1], min_length=1)
    inter_op_threads: int = Field(1, ge=1)
    batch_sizes: list[typing.Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [1], min_length=1)
    accuracy_budget: float = Field(1.0, ge=0, le=100, description="largest allowed test-accuracy drop, in points")
    calibration_size: int = Field(256, ge=1, description="train-split samples that calibrate int8-static ranges")
    format: Literal["onnx", "c", "ort", "web"] = Field(
        "onnx",
        description="onnx: RUN/model.onnx; c: a C99 pair in RUN/c/; ort: RUN/mobile/ (ONNX Runtime Mobile); "
        "web: RUN/web/ (a page running onnxruntime-web)",
    )
    mcu: Literal["cortex-m4", "cortex-m0plus"] | None = Field(
        None, description="c: cross-compile for this CPU, report flash/RAM"
    )
    max_flash_kb: float | None = Field(None, gt=0, description="c with mcu: refuse a student over this flash")
    max_ram_kb: float | None = Field(None, gt=0, description="c with mcu: refuse a student over this RAM (+stack)")

    _lists = field_validator("intra_op_threads", "batch_sizes", mode="before")(_positive_ints)

    @property
    def quantized(self) -> bool:
        return self.precision != "fp32"

    def summary(self) -> dict:
        return {
            "name": self.name,
            "precision": self.precision,
            "opset": self.opset,
            "description": self.description,
        }


def shipped_dir():
    return resources.files("kdedge") / "exporters"


def profile_dirs() -> list:
    """Where profiles are looked up by name: kdedge's own, then folders plug-ins declare (group kdedge.targets)."""
    from ..plugins import load_plugins

    return [shipped_dir(), *(Path(folder) for folder in load_plugins()["kdedge.targets"])]


def shipped_names() -> list[str]:
    names = {p.name.removesuffix(".toml") for d in profile_dirs() for p in d.iterdir() if p.name.endswith(".toml")}
    return sorted(names)


def list_profiles() -> list[Profile]:
    return [load_profile(name) for name in shipped_names()]


def load_profile(spec: str | Path | Profile | None = None) -> Profile:
    """A shipped profile by name (`cpu-int8-static`) or a TOML file by path; None gives the default."""
    if isinstance(spec, Profile):
        return spec
    spec = str(spec) if spec is not None else DEFAULT_TARGET
    spec = ALIASES.get(spec, spec)
    path = Path(spec)
    if spec.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise OptionError(f"--target {spec}: no such profile file; pass an existing .toml or one of {_names()}")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise OptionError(
                f"--target {spec}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
            ) from None
        return _parse(text, path.stem, str(path))
    for folder in profile_dirs():
        resource = folder / f"{spec}.toml"
        if resource.is_file():
            source = f"exporters/{spec}.toml" if folder == shipped_dir() else str(resource)
            return _parse(resource.read_text(), spec, source)
    raise OptionError(f"unknown --target {spec!r}; choose from {_names()} or pass a profile .toml path")


def _names() -> str:
    return ", ".join(shipped_names())


def _parse(text: str, name: str, source: str) -> Profile:
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OptionError(f"{source}: not valid TOML ({exc})") from None
    if "name" in values:
        raise OptionError(f"{source}: 'name' is not a profile key; a profile is named by its file name")
    try:
        return Profile(**values, name=name)
    except ValidationError as exc:
        raise OptionError(_one_line(exc, source)) from None


def _one_line(exc: ValidationError, source: str) -> str:
    """The first problem as `FILE: key = value: what is allowed`."""
    err = first_error(exc)
    key = str(err.loc[0]) if err.loc else "value"
    if err.kind == "extra_forbidden":
        keys = ", ".join(k for k in Profile.model_fields if k != "name")
        return f"{source}: unknown key {key!r}; allowed keys: {keys}"
    return f"{source}: {err.key or key} = {err.value!r}: {_allowed(key, err.message)}"  # batch_sizes[0] = ...


def _allowed(key: str, message: str) -> str:
    field = Profile.model_fields.get(key)
    choices = typing.get_args(field.annotation) if field is not None else ()
    if choices and all(isinstance(c, str) for c in choices):
        return "allowed: " + ", ".join(choices)
    hint = f" ({field.description})" if field is not None and field.description else ""
    return f"{message[0].lower()}{message[1:]}{hint}"
