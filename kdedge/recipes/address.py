"""Dotted keys that address recipe fields, for `kdedge run --set KEY=VALUE` and sweep grids (`--grid KEY=V1,V2`).

    seed, description                    a top-level key
    data.K  teacher.K  export.K  bench.K a key of that table
    student.K                            K in every student that takes it: an option of the student's family, method
                                         or transfer set, or one of family / method / teacher
    students.NAME.K                      K in the student named NAME
    students[I].K                        K in the I-th student (from 0)

Values are TOML values (`4`, `0.5`, `true`, `[64, 32]`, `"text"`); a bare word is a string. A grid splits its values
on the commas outside brackets and quotes, so `--grid student.hidden=[64],[128,64]` has two values.
"""

from __future__ import annotations

import copy
import re
import tomllib
from typing import Any

from ..errors import OptionError
from ..options import owners as option_owners
from .schema import RecipeError

TABLES = ("data", "teacher", "export", "bench")
TOP_LEVEL = ("seed", "description")
EVERY_STUDENT = ("family", "method", "teacher", "transfer")
_INDEXED = re.compile(r"^students\[(\d+)\]\.(.+)$")


def parse_value(text: str) -> Any:
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def split_values(text: str) -> list[str]:
    """Split on commas at depth 0, outside quotes."""
    parts, depth, quote, current = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return [p for p in (p.strip() for p in parts) if p]


def split_assignment(text: str, flag: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise RecipeError(flag, text, "expected KEY=VALUE, e.g. student.temperature=4")
    return key.strip(), value.strip()


def parse_set(text: str) -> tuple[str, Any]:
    key, value = split_assignment(text, "--set")
    return key, parse_value(value)


def parse_grid(text: str) -> tuple[str, list[Any]]:
    key, values = split_assignment(text, "--grid")
    return key, [parse_value(v) for v in split_values(values)]


def addressable(raw: dict) -> list[str]:
    names = [f"students.{s.get('name')}.KEY" for s in raw.get("students", []) if isinstance(s, dict)]
    return [*TOP_LEVEL, *(f"{t}.KEY" for t in TABLES), "student.KEY", *names, "students[I].KEY"]


def assign(raw: dict, key: str, value: Any, source: str) -> dict:
    """A copy of the parsed recipe `raw` with `key` set to `value` (addressing as in the module docstring)."""
    out = copy.deepcopy(raw)
    students = out.get("students") if isinstance(out.get("students"), list) else []
    head, _, rest = key.partition(".")
    if key in TOP_LEVEL:
        out[key] = value
    elif head in TABLES and rest:
        if not isinstance(out.get(head), dict):
            out[head] = {}
        out[head][rest] = value
    elif head == "student" and rest:
        takers = [s for s in students if isinstance(s, dict) and _takes(s, rest)]
        if not takers:
            raise RecipeError(source, key, f"no student in the recipe takes {rest!r}", _student_keys(students))
        for s in takers:
            s[rest] = value
    elif head == "students" and rest:
        _named(students, rest, key, source)[rest.partition(".")[2]] = value
    elif _INDEXED.match(key):
        index, field = _INDEXED.match(key).groups()
        if int(index) >= len(students):
            raise RecipeError(source, key, f"the recipe has {len(students)} students (indices from 0)")
        students[int(index)][field] = value
    else:
        raise RecipeError(source, key, "not an addressable recipe key", addressable(raw))
    return out


def _named(students: list, rest: str, key: str, source: str) -> dict:
    name, _, field = rest.partition(".")
    names = [s.get("name") for s in students if isinstance(s, dict)]
    if not field:
        raise RecipeError(source, key, "expected students.NAME.KEY", [f"students.{n}.KEY" for n in names])
    for s in students:
        if isinstance(s, dict) and s.get("name") == name:
            return s
    raise RecipeError(source, key, f"no student named {name!r}", names)


def _owners(student: dict):
    try:
        return option_owners(
            str(student.get("family")), str(student.get("method")), str(student.get("transfer", "train"))
        )
    except (KeyError, OptionError):  # an unknown family or method: full validation reports it
        return []


def _takes(student: dict, key: str) -> bool:
    return key in EVERY_STUDENT or any(key in model.model_fields for _, model in _owners(student))


def _student_keys(students: list) -> list[str]:
    keys = {k for s in students if isinstance(s, dict) for _, model in _owners(s) for k in model.model_fields}
    return [*EVERY_STUDENT, *sorted(keys)]
