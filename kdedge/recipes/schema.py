"""The recipe file: its schema, and its check against the registries before any work starts.

The fixed structure (tables, reserved keys, types) is a pydantic model. Everything else a student table holds is an
option of its family (the family's `Params`), of its method (`distill.methods.METHODS`) or of its transfer set,
routed to whichever of them declares it and validated by that model; so a new family or method needs no change here.
Every problem becomes one `RecipeError` line: `FILE: dotted.key: what is wrong; allowed: ...`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import KdedgeError, OptionError
from ..options import owners as option_owners
from ..options import split
from ..params import FieldError, first_error

TEACHER = "teacher"  # the name students use for the recipe's teacher, and its run directory
RESERVED_NAMES = frozenset({TEACHER, "recipe.toml", "recipe.json", "bench.json", "done.json"})
SAFE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class RecipeError(OptionError):
    """One line naming the recipe file, the key (dotted path) and what is allowed there."""

    def __init__(self, source: str, key: str, problem: str, allowed=None):
        self.source, self.key, self.problem = source, key, problem
        self.allowed = list(allowed) if allowed is not None else None
        text = f"{source}: {key}: {problem}"
        if self.allowed is not None:
            text += "; allowed: " + (", ".join(str(a) for a in self.allowed) or "none")
        super().__init__(text)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    """A table whose extra keys are options checked against a registry entry (reader, family, method, profile)."""

    model_config = ConfigDict(extra="allow")

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class DataSpec(_Open):
    name: str | None = Field(None, description="a built-in data set (digits)")
    path: str | None = Field(None, description="a data file or folder, relative to the recipe file")
    format: str | None = Field(None, description="force a reader (see the data readers)")
    seed: int | None = Field(None, description="split seed (default: the recipe's seed)")


class TeacherSpec(_Open):
    arch: str | None = Field(None, description="train a built-in teacher of this family")
    path: str | None = Field(
        None, description="or load one: a run directory, .pt, .onnx or weights (relative to the recipe file)"
    )
    factory: str | None = Field(None, description="for a weights file: package.module:build_fn")


class StudentSpec(_Open):
    name: str = Field(pattern=SAFE_NAME, description="run directory name, unique in the recipe")
    family: str
    method: str
    teacher: str | list[str] = Field(
        TEACHER,
        description="'teacher', the name of an earlier student (assistant chains), or a list (their average teaches)",
    )
    transfer: str = Field("train", description="transfer set kind (train, augment, munge, pool...)")
    generations: int | None = Field(
        None, ge=1, description="born-again: N students of the teacher's own architecture, each taught by the last"
    )


class EnsembleSpec(_Strict):
    name: str = Field(pattern=SAFE_NAME, description="run directory name, unique in the recipe")
    members: list[str] = Field(min_length=2, description="names of students in this recipe")
    vote: str = "mean"
    best: int | None = Field(None, ge=1, description="keep the N members best on validation")


class ExportSpec(_Open):
    target: str = Field("cpu-fp32", description="a shipped export profile name or a profile .toml path")


class BenchSpec(_Strict):
    threads: list[Annotated[int, Field(ge=1)]] | None = Field(None, description="default: the export profile's")
    batch: list[Annotated[int, Field(ge=1)]] | None = Field(None, description="default: the export profile's")
    memory: bool = True
    min_runs: int = Field(50, ge=1)
    min_seconds: float = Field(1.0, ge=0)

    @field_validator("threads", "batch", mode="before")
    @classmethod
    def _one_or_more(cls, value):
        return [value] if isinstance(value, int) else value


class SweepSpec(_Strict):
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="dotted key -> values")
    jobs: int = Field(1, ge=1)


class RecipeSpec(_Strict):
    description: str = Field(min_length=1)
    seed: int = 0
    data: DataSpec
    teacher: TeacherSpec | None = None
    students: list[StudentSpec] = Field(min_length=1)
    ensembles: list[EnsembleSpec] = Field(default_factory=list)
    export: ExportSpec = Field(default_factory=ExportSpec)
    bench: BenchSpec = Field(default_factory=BenchSpec)
    sweep: SweepSpec | None = None


# -- what a validated recipe resolves to -------------------------------------------------------------------------


@dataclass
class DataPlan:
    spec: str  # built-in name or absolute path
    format: str | None
    seed: int
    options: dict


@dataclass
class TeacherPlan:
    arch: str | None  # train this family...
    path: Path | None  # ...or load this teacher (a run directory or a file)
    options: dict
    factory: str | None = None


@dataclass
class StudentPlan:
    name: str
    family: str
    method: Any  # a validated distill.methods.Method
    options: dict  # the family's options, as fit_run takes them
    transfer: Any  # a validated distill.transfer.TransferSet
    teachers: list[str]  # names of the models that teach it (their average when several); empty: labels only
    generations: int | None = None


@dataclass
class Plan:
    seed: int
    data: DataPlan
    teacher: TeacherPlan | None
    students: list[StudentPlan]
    ensembles: list[EnsembleSpec]
    profile: Any  # export.profiles.Profile
    bench: BenchSpec
    sweep: SweepSpec | None = None
    raw: dict = field(default_factory=dict)


# -- validation ----------------------------------------------------------------------------------------------------


def dotted(loc) -> str:
    """('students', 2, 'method') -> 'students[2].method'."""
    return FieldError(tuple(loc), "", "", None).key or "(top level)"


def _pydantic_error(exc: ValidationError, source: str, model: type[BaseModel], prefix: str = "") -> RecipeError:
    err = first_error(exc)
    key = ".".join(k for k in (prefix, err.key) if k) or "(top level)"
    if err.kind == "extra_forbidden":
        return RecipeError(source, key, "unknown key", _fields_at(model, err.loc[:-1]))
    if err.kind == "missing":
        return RecipeError(source, key, "missing (required)")
    return RecipeError(source, key, f"{err.message} (got {err.value!r})")


def _fields_at(model: type[BaseModel], loc) -> list[str]:
    """The keys allowed in the table at `loc` (following nested models and lists of them)."""
    import typing

    for part in loc:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation
        candidates = [annotation, *typing.get_args(annotation)]
        candidates += [a for c in candidates for a in typing.get_args(c)]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)


def parse_spec(raw: dict, source: str) -> RecipeSpec:
    try:
        return RecipeSpec.model_validate(raw)
    except ValidationError as exc:
        raise _pydantic_error(exc, source, RecipeSpec) from None


def families() -> list[str]:
    """Families a student table can name: those that are trained by some method (not e.g. `ensemble`)."""
    from ..students import STUDENTS, student_class

    student_class("mlp")  # importing any family registers them all
    return sorted(name for name, cls in STUDENTS.items() if cls.distilled)


def methods() -> list[str]:
    from ..distillation.methods import METHODS

    return list(METHODS)


def transfers() -> list[str]:
    from ..distillation.transfer import TRANSFERS

    return [*TRANSFERS, "view ops joined by + (e.g. shift+mixup)"]


def check_family(name: str, source: str, key: str) -> None:
    if name not in families():
        raise RecipeError(source, key, f"unknown student family {name!r}", families())


def _is_path_field(model: type[BaseModel], key: str) -> bool:
    import typing

    annotation = model.model_fields[key].annotation
    return any(isinstance(a, type) and issubclass(a, PurePath) for a in (annotation, *typing.get_args(annotation)))


def _resolve_paths(model: type[BaseModel], values: dict, base_dir: Path) -> dict:
    """Path-typed options (e.g. a transfer pool file) are relative to the recipe file, like data.path."""
    return {
        k: str(_resolve(v, base_dir)) if isinstance(v, str) and _is_path_field(model, k) else v
        for k, v in values.items()
    }


def check_born_again(spec: StudentSpec, at: str, source: str, teachers: list[str], families_by_name: dict) -> None:
    """Born-again students have their teacher's architecture, so one teacher whose family is known and equal."""
    if len(teachers) != 1:
        raise RecipeError(source, f"{at}.teacher", "born-again (generations) needs exactly one teacher run")
    family = families_by_name.get(teachers[0])
    if family is not None and family != spec.family:
        raise RecipeError(
            source,
            f"{at}.family",
            f"born-again (generations) retrains the teacher's own architecture; {teachers[0]!r} is a {family}",
            [family],
        )


def check_student(
    spec: StudentSpec,
    index: int,
    source: str,
    earlier: list[str],
    has_teacher: bool,
    base_dir: Path,
    families_by_name: dict | None = None,
) -> StudentPlan:
    from ..distillation.methods import METHODS, methods_for
    from ..distillation.transfer import check_method_fits, check_online_fits, transfer_class
    from ..students import student_class

    at = f"students[{index}]"
    check_family(spec.family, source, f"{at}.family")
    if spec.method not in METHODS:
        raise RecipeError(source, f"{at}.method", f"unknown method {spec.method!r}", methods())
    accepted = methods_for(student_class(spec.family))
    if spec.method not in accepted:
        raise RecipeError(
            source,
            f"{at}.method",
            f"method {spec.method!r} does not apply to family {spec.family}",
            [m for m in accepted if m in METHODS],
        )
    try:
        transfer_class(spec.transfer)
    except OptionError:
        raise RecipeError(source, f"{at}.transfer", f"unknown transfer set {spec.transfer!r}", transfers()) from None
    if spec.name in RESERVED_NAMES or spec.name in earlier:
        problem = "reserved" if spec.name in RESERVED_NAMES else "used by an earlier student"
        raise RecipeError(source, f"{at}.name", f"{spec.name!r} is {problem}; student names must be unique")
    known = ([TEACHER] if has_teacher else []) + earlier
    names = [spec.teacher] if isinstance(spec.teacher, str) else list(spec.teacher)
    if names == [TEACHER] and not has_teacher:
        names = []  # no [teacher] table: only methods that learn from labels alone are possible (checked below)
    for i, name in enumerate(names):
        if name not in known:
            key = f"{at}.teacher" if isinstance(spec.teacher, str) else f"{at}.teacher[{i}]"
            raise RecipeError(source, key, f"no teacher named {name!r} before this student", known)
    owners = option_owners(spec.family, spec.method, spec.transfer)
    routed = split(spec.options(), owners)
    if isinstance(routed, str):
        allowed = sorted({k for _, model in owners for k in model.model_fields})
        raise RecipeError(
            source,
            f"{at}.{routed}",
            f"not an option of family {spec.family}, method {spec.method} or transfer {spec.transfer}",
            [*StudentSpec.model_fields, *allowed],
        )
    validated = {}
    for owner, model in owners:
        try:
            validated[owner] = model.model_validate(_resolve_paths(model, routed[owner], base_dir))
        except ValidationError as exc:
            raise _pydantic_error(exc, source, model, at) from None
    method, transfer = validated["method"], validated["transfer"]
    if method.needs_teacher and not names:
        raise RecipeError(source, f"{at}.method", f"method {spec.method!r} needs a teacher; add a [teacher] table")
    if spec.generations is not None:
        check_born_again(spec, at, source, names, families_by_name or {})
    try:
        check_method_fits(transfer, method)
        check_online_fits(transfer, method, student_class(spec.family).neural)
    except OptionError as exc:
        raise RecipeError(source, f"{at}.transfer", str(exc)) from None
    return StudentPlan(
        name=spec.name,
        family=spec.family,
        method=method,
        options=routed["family"],
        transfer=transfer,
        teachers=names,
        generations=spec.generations,
    )


def check_ensemble(spec: EnsembleSpec, index: int, source: str, taken: list[str], students: list[str]) -> None:
    from ..students.ensemble import EnsembleParams

    at = f"ensembles[{index}]"
    if spec.name in RESERVED_NAMES or spec.name in taken:
        raise RecipeError(source, f"{at}.name", f"{spec.name!r} is reserved or already used; names must be unique")
    for i, member in enumerate(spec.members):
        if member not in students:
            raise RecipeError(source, f"{at}.members[{i}]", f"no student named {member!r}", students)
    try:
        EnsembleParams.model_validate({"vote": spec.vote})
    except ValidationError as exc:
        raise _pydantic_error(exc, source, EnsembleParams, at) from None


def check_data(spec: DataSpec, seed: int, source: str, base_dir: Path) -> DataPlan:
    from ..data import BUILTINS, READERS

    if (spec.name is None) == (spec.path is None):
        raise RecipeError(source, "data", "give exactly one of name (a built-in) or path (a file or folder)")
    if spec.format is not None and spec.format not in READERS:
        raise RecipeError(source, "data.format", f"unknown format {spec.format!r}", sorted(READERS))
    if spec.name is not None:
        if spec.name not in BUILTINS:
            raise RecipeError(source, "data.name", f"no built-in data set {spec.name!r}", sorted(BUILTINS))
        where = spec.name
    else:
        parts = [_resolve(p, base_dir) for p in spec.path.split(",") if p]
        missing = [str(p) for p in parts if not p.exists()]
        if missing:
            raise RecipeError(source, "data.path", f"no such file or folder: {', '.join(missing)}")
        where = ",".join(str(p) for p in parts)
    return DataPlan(where, spec.format, seed if spec.seed is None else spec.seed, spec.options())


def check_teacher(spec: TeacherSpec, source: str, base_dir: Path) -> TeacherPlan:
    if (spec.arch is None) == (spec.path is None):
        raise RecipeError(source, "teacher", "give exactly one of arch (train a teacher) or path (load one)")
    if spec.path is not None:
        if spec.options():
            key = next(iter(spec.options()))
            raise RecipeError(source, f"teacher.{key}", "unknown key for a loaded teacher", ["path", "factory"])
        from ..teachers.registry import resolve_kind

        path = _resolve(spec.path, base_dir)
        factory = _resolve_factory(spec.factory, base_dir)
        try:
            resolve_kind(path, factory)  # the loader that will read it, chosen now
        except KdedgeError as exc:
            raise RecipeError(source, "teacher.path", str(exc)) from None
        return TeacherPlan(None, path, {}, factory)
    if spec.factory is not None:
        raise RecipeError(source, "teacher.factory", "applies to a loaded teacher (path), not to a trained one")
    from ..students import student_class

    check_family(spec.arch, source, "teacher.arch")
    params = student_class(spec.arch).Params
    unknown = [k for k in spec.options() if k not in params.model_fields]
    if unknown:
        raise RecipeError(
            source, f"teacher.{unknown[0]}", f"not an option of {spec.arch}", ["arch", *params.model_fields]
        )
    try:
        params.model_validate(spec.options())
    except ValidationError as exc:
        raise _pydantic_error(exc, source, params, "teacher") from None
    return TeacherPlan(spec.arch, None, spec.options())


def check_export(spec: ExportSpec, source: str, base_dir: Path):
    from ..convert.profiles import Profile, load_profile, shipped_names

    target = spec.target
    if target.endswith(".toml") or "/" in target:
        path = _resolve(target, base_dir)
        if not path.is_file():
            raise RecipeError(source, "export.target", f"no such profile file: {path}")
        target = str(path)
    elif target not in shipped_names():
        raise RecipeError(source, "export.target", f"unknown export profile {target!r}", shipped_names())
    try:
        profile = load_profile(target)
    except OptionError as exc:
        raise RecipeError(source, "export.target", str(exc)) from None
    overrides = spec.options()
    if not overrides:
        return profile
    unknown = [k for k in overrides if k not in Profile.model_fields or k == "name"]
    if unknown:
        allowed = ["target", *(k for k in Profile.model_fields if k != "name")]
        raise RecipeError(source, f"export.{unknown[0]}", "not an export profile key", allowed)
    try:
        return Profile.model_validate({**profile.model_dump(), **overrides})
    except ValidationError as exc:
        raise _pydantic_error(exc, source, Profile, "export") from None


def _resolve_factory(factory: str | None, base_dir: Path) -> str | None:
    """`file.py:build` names a file relative to the recipe, like every other path in it (not to the working folder);
    `package.module:build` is an import and stays as it is."""
    if factory is None or ":" not in factory:
        return factory
    module_part, fn = factory.rsplit(":", 1)
    return f"{_resolve(module_part, base_dir)}:{fn}" if module_part.endswith(".py") else factory


def _resolve(path: str, base_dir: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base_dir / p).resolve()


def check(raw: dict, source: str, base_dir: Path) -> Plan:
    """Validate a parsed recipe completely; raise RecipeError on the first problem, else return the plan."""
    spec = parse_spec(raw, source)
    data = check_data(spec.data, spec.seed, source, base_dir)
    teacher = check_teacher(spec.teacher, source, base_dir) if spec.teacher is not None else None
    students: list[StudentPlan] = []
    families_by_name = {TEACHER: teacher.arch} if teacher is not None and teacher.arch else {}
    for i, student in enumerate(spec.students):
        earlier = [s.name for s in students]
        students.append(check_student(student, i, source, earlier, teacher is not None, base_dir, families_by_name))
        families_by_name[student.name] = student.family
    names = [s.name for s in students]
    for i, ens in enumerate(spec.ensembles):
        check_ensemble(ens, i, source, names + [e.name for e in spec.ensembles[:i]], names)
    profile = check_export(spec.export, source, base_dir)
    return Plan(spec.seed, data, teacher, students, spec.ensembles, profile, spec.bench, spec.sweep, raw)
