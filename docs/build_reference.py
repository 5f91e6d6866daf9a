"""Write the generated pages of the docs site from the code: every command and option, every registered name, the
run record's schema, and the benchmark results. `make docs` runs this, then `mkdocs build --strict`.

    python docs/build_reference.py            # writes docs/reference/{cli,registries,run-record}.md, docs/results/
"""

from __future__ import annotations

import inspect
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _first_paragraph(obj) -> str:
    """The object's own docstring's first paragraph (not one inherited from a base class)."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else obj.__doc__
    doc = inspect.cleandoc(doc or "")
    return " ".join(doc.split("\n\n")[0].split())


def _options(model) -> str:
    """`--flag` (default) for each field of a pydantic model: the options a registered name takes."""
    from kdedge.options import flag

    fields = getattr(model, "model_fields", {})
    return ", ".join(f"`{flag(k)}` ({f.default!r})" for k, f in fields.items() if not k.startswith("_"))


def _with_options(text: str, model) -> str:
    options = _options(model)
    return " ".join(part for part in (text, f"Options: {options}." if options else "") if part)


def registries() -> dict[str, dict[str, str]]:
    """Registry title -> {registered name: what it is}: every name a user can type after a flag."""
    from kdedge.budget_search.budget import BUDGETS
    from kdedge.convert.profiles import list_profiles
    from kdedge.convert.quantize import QUANTIZERS
    from kdedge.data.readers import BUILTINS, READERS
    from kdedge.distillation.methods import METHODS
    from kdedge.distillation.transfer import TRANSFERS
    from kdedge.distillation.views import VIEW_OPS
    from kdedge.feature_maps import FEATURE_MAPS
    from kdedge.predict import INPUT_READERS
    from kdedge.students import STUDENTS, student_class
    from kdedge.teachers.registry import TEACHER_KINDS

    student_class("mlp")  # the families (and plug-ins) register on first use
    return {
        "Student families (`--student`)": {
            n: _with_options(_first_paragraph(c), c.Params) for n, c in STUDENTS.items()
        },
        "Distillation methods (`--method`)": {n: _with_options(_first_paragraph(c), c) for n, c in METHODS.items()},
        "Transfer sets (`--transfer`)": {n: _with_options(_first_paragraph(c), c) for n, c in TRANSFERS.items()},
        "View operations (`--transfer a+b`)": {n: _first_paragraph(v) for n, v in VIEW_OPS.items()},
        "Input maps (`--features`)": {n: _first_paragraph(c) for n, c in FEATURE_MAPS.items()},
        "Built-in data sets (`--data NAME`)": {n: _first_paragraph(f) for n, f in BUILTINS.items()},
        "Data readers (`--format`)": {n: r.summary for n, r in READERS.items()},
        "Teacher kinds (`--teacher`)": {n: k.summary or _first_paragraph(k.load) for n, k in TEACHER_KINDS.items()},
        "Export targets (`--target`)": {p.name: p.description for p in list_profiles()},
        "Quantization (a target's `precision`)": {n: _first_paragraph(f) for n, f in QUANTIZERS.items()},
        "Inputs `kdedge predict` reads": {n: _first_paragraph(f) for n, f in INPUT_READERS.items()},
        "Search budgets (`kdedge search --max-…/--min-…`)": {n: b.help for n, b in BUDGETS.items()},
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or "—"


def registries_page() -> str:
    lines = ["# Registered names", "", "Generated from kdedge's registries (`docs/build_reference.py`).", ""]
    for title, names in registries().items():
        lines += [f"## {title}", "", "| name | what it is |", "| --- | --- |"]
        lines += [f"| `{name}` | {_cell(text)} |" for name, text in names.items()]
        lines.append("")
    return "\n".join(lines)


def _commands(group, prefix: str):
    """(`kdedge distill`, its click command) for every command, through groups (which may load theirs lazily)."""
    ctx = group.context_class(group)  # typer vendors its own click: its context, not click's
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        path = f"{prefix} {name}"
        if hasattr(command, "list_commands"):
            yield from _commands(command, path)
        else:
            yield path, command


def cli_page() -> str:
    import typer.main

    from kdedge.cli import app

    root = typer.main.get_command(app)
    lines = ["# Commands and options", "", "Generated from the CLI itself (`docs/build_reference.py`).", ""]
    for path, command in _commands(root, "kdedge"):
        lines += [f"## `{path}`", "", " ".join((command.help or "").split()), ""]
        lines += ["| option | type | default | help |", "| --- | --- | --- | --- |"]
        for param in command.params:
            if param.name == "help":
                continue
            flags = ", ".join(f"`{o}`" for o in [*param.opts, *getattr(param, "secondary_opts", [])])
            default = "" if param.default is None or callable(param.default) else f"`{param.default}`"
            help_text = " ".join((getattr(param, "help", "") or "").split()).replace("|", "\\|")
            kind = getattr(getattr(param, "type", None), "name", "") or ""
            lines.append(f"| {flags} | {kind} | {default} | {help_text} |")
        lines.append("")
    return "\n".join(lines)


def run_record_page() -> str:
    from kdedge.manifest import SCHEMA_VERSION, Manifest

    schema = json.dumps(Manifest.model_json_schema(), indent=2)
    return (
        "# The run record (`RUN/kdedge.json`)\n\n"
        f"Schema version {SCHEMA_VERSION}, generated from `kdedge.manifest.Manifest` (`docs/build_reference.py`).\n\n"
        f"```json\n{schema}\n```\n"
    )


def copy_results() -> list[str]:
    """benchmarks/results/*.md as pages of the site (their links to scripts become plain text)."""
    target = DOCS / "results"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    names = []
    for page in sorted((ROOT / "benchmarks" / "results").glob("*.md")):
        (target / page.name).write_text(page.read_text())
        names.append(page.name)
    for asset in (ROOT / "benchmarks" / "results").rglob("*.png"):
        dest = target / asset.relative_to(ROOT / "benchmarks" / "results")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(asset, dest)
    index = [
        "# Results",
        "",
        "Each page is a benchmark's own output (`benchmarks/`), with the command that made it.",
        "",
    ]
    index += [f"- [{name[:-3].replace('_', ' ')}]({name})" for name in names]
    (target / "index.md").write_text("\n".join(index) + "\n")
    return names


def main() -> None:
    sys.path.insert(0, str(ROOT))
    (DOCS / "reference").mkdir(exist_ok=True)
    (DOCS / "reference" / "cli.md").write_text(cli_page())
    (DOCS / "reference" / "registries.md").write_text(registries_page())
    (DOCS / "reference" / "run-record.md").write_text(run_record_page())
    shutil.copy(ROOT / "ARCHITECTURE.md", DOCS / "architecture.md")
    copy_results()


if __name__ == "__main__":
    main()
