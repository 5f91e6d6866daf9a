"""The run record (`RUN/kdedge.json`): one typed model, written in one place (`Manifest.write`), read through
attributes (`run.manifest.data.sample_shape`), validated on load so a damaged or hand-edited file is one clear
line, not a KeyError three modules later.

Fields kdedge does not know (a newer kdedge's, a user's note) are kept and written back unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ._io import write_json
from .errors import RunError
from .params import first_error

SCHEMA_VERSION = 1
MANIFEST = "kdedge.json"


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class StudentRecord(_Record):
    family: str
    params: dict[str, Any] = Field(default_factory=dict)
    n_params: int = Field(ge=0)


class DataRecord(_Record):
    """How to load the same data and split again, and what a model trained on it expects."""

    name: str
    source: str
    format: str | None = None
    reader_options: dict[str, Any] = Field(default_factory=dict)
    fingerprint: str
    seed: int
    sample_shape: list[int] = Field(min_length=1)
    layout: str
    n_classes: int = Field(ge=2)
    class_names: list[str]
    sizes: dict[str, int] = Field(default_factory=dict)
    normalization: dict[str, Any]


class Manifest(_Record):
    schema_version: int = SCHEMA_VERSION  # runs written before the schema had a version are version 1
    kind: Literal["teacher", "student"]
    family: str
    created: str = ""
    seed: int = 0
    student: StudentRecord
    method: dict[str, Any] | None = None
    data: DataRecord
    teacher: dict[str, Any] | None = None
    transfer: dict[str, Any] | None = None
    defaults: dict[str, Any] | None = None  # the default recipe behind the options left out (kdedge.defaults)
    baseline: dict[str, Any] | None = None  # the hard-label twin in RUN/baseline and the gain over it (--baseline)
    weights: list[str] = Field(default_factory=list)
    weights_sha256: str = ""
    metrics: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    export: dict[str, Any] | None = None  # set by `kdedge export`
    c_export: dict[str, Any] | None = None  # set by `kdedge export --target c` (or another format = "c" profile)
    c_int8_export: dict[str, Any] | None = None  # set by `kdedge export --target c-int8` (RUN/c-int8/)
    apps: dict[str, dict[str, Any]] | None = None  # app exports by folder: "mobile" (ORT format), "web" (a page)
    recipe: dict[str, Any] | None = None  # set when a recipe made the run
    compute: dict[str, Any] | None = None  # threads and CPUs the fit ran with; teacher-output cache entries used

    @classmethod
    def read(cls, path: Path) -> Manifest:
        from ._io import read_json

        try:
            raw = read_json(path)
        except ValueError as exc:
            raise RunError(f"{path}: not valid JSON ({exc}); recreate the run") from None
        if not isinstance(raw, dict):
            raise RunError(f"{path}: not a kdedge manifest; recreate the run")
        version = raw.get("schema_version", SCHEMA_VERSION)
        if isinstance(version, bool) or not isinstance(version, int):
            raise RunError(
                f"{path}: schema_version {version!r} is not a whole number; the manifest is damaged, recreate the run"
            )
        if version > SCHEMA_VERSION:
            raise RunError(
                f"{path}: written by a newer kdedge (schema {raw['schema_version']}, this one reads "
                f"{SCHEMA_VERSION}); upgrade kdedge"
            )
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            err = first_error(exc)
            raise RunError(
                f"{path}: {err.key}: {err.message.lower()}; the manifest is damaged, recreate the run"
            ) from None

    @field_validator("weights")
    @classmethod
    def _inside_the_run(cls, names: list[str]) -> list[str]:
        # a weights name is a file of the run: an edited '../x' or '/x' would make a load read outside it
        for name in names:
            if not name or Path(name).is_absolute() or ".." in Path(name).parts:
                raise ValueError(f"{name!r} is not a file inside the run")
        return names

    def write(self, directory: Path) -> None:
        write_json(Path(directory) / MANIFEST, self.model_dump(mode="json"))
