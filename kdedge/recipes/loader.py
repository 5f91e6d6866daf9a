"""Find a recipe (a file, a shipped name, or a finished recipe run to replay), parse it, apply overrides, validate."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .._io import read_run_file
from .address import assign
from .schema import Plan, RecipeError, check

RECORD = "recipe.json"  # in a recipe's output: text, overrides and base folder, enough to rerun it exactly
TEXT_COPY = "recipe.toml"


def shipped_dir():
    return resources.files("kdedge") / "recipes" / "shipped"


def shipped_names() -> list[str]:
    return sorted(p.name.removesuffix(".toml") for p in shipped_dir().iterdir() if p.name.endswith(".toml"))


@dataclass
class Recipe:
    """A validated recipe: where it came from, its text verbatim, the overrides applied, and the resolved plan."""

    name: str
    source: str  # as shown in messages: the path given, or recipes/NAME.toml for a shipped one
    text: str
    base_dir: Path  # relative paths in the recipe are relative to this folder
    overrides: list[tuple[str, Any]] = field(default_factory=list)
    plan: Plan | None = None

    @property
    def description(self) -> str:
        return self.plan.raw.get("description", "")

    def record(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "base_dir": str(self.base_dir),
            "overrides": [[k, v] for k, v in self.overrides],
            "digest": self.digest(),
            "text": self.text,
        }

    def digest(self) -> str:
        """Identifies what this recipe computes: its text, overrides and base folder."""
        payload = json.dumps([self.text, [[k, v] for k, v in self.overrides], str(self.base_dir)], default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def with_overrides(self, overrides) -> Recipe:
        return parse(self.name, self.source, self.text, self.base_dir, [*self.overrides, *overrides])


def parse(name: str, source: str, text: str, base_dir: Path, overrides=(), flag: str = "--set") -> Recipe:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(source, "(file)", f"not valid TOML ({exc})") from None
    overrides = [(str(k), v) for k, v in overrides]
    for key, value in overrides:
        raw = assign(raw, key, value, f"{source} ({flag})")
    return Recipe(name, source, text, Path(base_dir), overrides, check(raw, source, Path(base_dir)))


def from_record(record: dict, overrides=()) -> Recipe:
    """Rebuild a recipe from the record a run wrote (or a sweep sends to a worker)."""
    base = [(k, v) for k, v in record.get("overrides", [])]
    return parse(record["name"], record["source"], record["text"], Path(record["base_dir"]), [*base, *overrides])


def load_recipe(spec: str | Path, overrides=()) -> Recipe:
    """A recipe by path, by the short name of a shipped one (`quick`), or a recipe run directory to replay."""
    path = Path(spec)
    if path.is_file():
        return parse(path.stem, str(spec), _text(path), path.resolve().parent, overrides)
    if path.is_dir() and (path / RECORD).is_file():
        record = read_run_file(
            path / RECORD, "recipe", f"rerun the recipe itself (kdedge run RECIPE.toml --out {path})"
        )
        try:
            return from_record(record, overrides)
        except (KeyError, TypeError) as exc:  # an edited record missing name/source/text/base_dir
            raise RecipeError(str(path / RECORD), "recipe record", f"missing or bad field {exc}") from None
    name = str(spec).removesuffix(".toml")
    if "/" not in name and name in shipped_names():
        text = (shipped_dir() / f"{name}.toml").read_text()
        return parse(name, f"recipes/{name}.toml", text, Path.cwd(), overrides)
    raise RecipeError(
        str(spec), "recipe", "no such recipe file, recipe run directory or shipped recipe", shipped_names()
    )


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RecipeError(
            str(path), "(file)", f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
        ) from None


def shipped_recipes() -> list[dict]:
    """Name and description of every shipped recipe (read without validating, so listing never fails)."""
    rows = []
    for name in shipped_names():
        text = (shipped_dir() / f"{name}.toml").read_text()
        rows.append({"name": name, "description": tomllib.loads(text).get("description", "")})
    return rows
