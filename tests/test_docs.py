"""The docs site's generated reference covers every registry and every command; the README stays short and its
notebook block runs (tests/test_api.py); `make docs` builds the site with `mkdocs build --strict` (CI)."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Registries whose names a user never types: the nets behind the neural families, converters and measurers keyed
# by family or format, and each built-in data set's options (shown with `kdedge distill --help`).
INTERNAL = {"ARCHITECTURES", "CORE_CONVERTERS", "MEASURERS", "BUILTIN_OPTIONS"}


def _builder():
    spec = importlib.util.spec_from_file_location("build_reference", ROOT / "docs" / "build_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_registry_of_the_code_has_its_reference_section():
    found = set()
    for path in (ROOT / "kdedge").rglob("*.py"):
        found |= set(re.findall(r"(?m)^([A-Z_]+): dict\[str, .*\] = \{\}", path.read_text()))
    source = (ROOT / "docs" / "build_reference.py").read_text()
    undocumented = sorted(name for name in found - INTERNAL if name not in source)
    assert not undocumented, f"registries without a reference section in docs/build_reference.py: {undocumented}"


def test_every_registered_name_and_command_is_in_the_reference():
    builder = _builder()
    page = builder.registries_page()
    from kdedge.distillation.methods import METHODS
    from kdedge.students import STUDENTS

    for name in [*STUDENTS, *METHODS]:
        assert f"| `{name}` |" in page
    for section in builder.registries().values():
        assert section, "an empty registry section"
    cli = builder.cli_page()
    for command in ("kdedge distill", "kdedge teacher train", "kdedge search", "kdedge recommend", "kdedge bench"):
        assert f"## `{command}`" in cli
    assert "`--baseline`" in cli and "`--time-budget`" in cli and "`--temperature`" in cli  # generated flags too


def test_the_readme_is_short_and_links_the_docs():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    assert "make demo" in text and "make test" in text and "docs/" in text
    assert (ROOT / "LICENSE").is_file() and "Apache License" in (ROOT / "LICENSE").read_text()


def _readme_commands() -> list[list[str]]:
    import shlex

    text = (ROOT / "README.md").read_text()
    block = re.search(r"## The path a user takes\n\n```\n(.*?)```", text, re.S).group(1)
    return [shlex.split(line.split("#")[0]) for line in block.splitlines() if line.strip()]


def test_the_readme_path_is_a_sequence_of_kdedge_commands():
    commands = _readme_commands()
    assert [c[:2] for c in commands] == [["kdedge", "teacher"], ["kdedge", "distill"], ["kdedge", "export"],
                                         ["kdedge", "bench"], ["kdedge", "show"]]  # fmt: skip



@pytest.mark.slow  # the README's commands as typed, in a fresh folder (~70 s: a 60-epoch teacher, two MLPs)
def test_the_readme_path_runs_as_typed(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from kdedge.cli import app

    monkeypatch.chdir(tmp_path)
    for words in _readme_commands():
        result = CliRunner().invoke(app, words[1:])
        assert result.exit_code == 0, (words, result.output)
    assert (tmp_path / "runs" / "mlp" / "model.onnx").is_file()
