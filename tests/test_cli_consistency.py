"""The command line agrees with itself: --json is a flag everywhere, --version, -h, help texts rendered as written."""

import re

import pytest
import typer.main
from typer.testing import CliRunner

import kdedge
from kdedge.cli import app

runner = CliRunner()


def _commands(command=None, path=()):
    """(name path, click command) for every leaf command."""
    command = command or typer.main.get_command(app)
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield path, command


COMMANDS = list(_commands())


def test_version_and_short_help():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.stdout.strip() == f"kdedge {kdedge.__version__}"
    for args in (["-h"], ["bench", "-h"], ["teacher", "train", "-h"], ["teacher", "-h"]):
        r = runner.invoke(app, args)
        assert r.exit_code == 0 and "Usage:" in r.stdout, args


def test_json_is_a_flag_on_every_command():
    with_json = [path for path, command in COMMANDS if any("--json" in getattr(p, "opts", ()) for p in command.params)]
    assert ("bench",) in with_json and len(with_json) >= 15
    for path, command in COMMANDS:
        for param in command.params:
            if "--json" in getattr(param, "opts", ()):
                assert param.is_flag, f"{' '.join(path)} --json takes a value"


def _flat(text: str) -> str:
    return re.sub(r"[\s│]+", "", text)


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_help_shows_every_bracket_as_written(path):
    """rich reads `[word]` as markup and drops it ('adds to the recipe's . E.g.'); every bracket must survive."""
    command = dict(COMMANDS)[path]
    r = runner.invoke(app, [*path, "--help"])
    assert r.exit_code == 0, r.output
    shown = _flat(r.stdout)
    texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
    for text in texts:
        for bracket in re.findall(r"\[[^\]]*\]", text.replace("\\[", "[")):
            assert _flat(bracket) in shown, f"{' '.join(path)} --help lost {bracket!r}"


def test_sweep_help_names_the_recipe_table():
    r = runner.invoke(app, ["sweep", "--help"])
    assert "adds to the recipe's [sweep.grid]" in _normalized(r.stdout)


def test_distill_seed_help_keeps_the_teachers_split():
    r = runner.invoke(app, ["distill", "--help"])
    assert "The split stays the teacher run's own" in _normalized(r.stdout)


def _normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("│", " "))
