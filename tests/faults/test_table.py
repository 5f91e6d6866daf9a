"""Every case of every table: exit 2, exactly one `error:` line on stderr naming the problem, nothing on stdout, no
traceback, and the case's folder byte-identical afterwards (nothing changed, nothing new: no lock, no .partial)."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from kdedge.cli import app

from . import (
    cases_bench,
    cases_data,
    cases_distill,
    cases_export,
    cases_inspect,
    cases_recipes,
    cases_search,
    cases_teacher,
)
from .kit import Workspace, one_line, snapshot

# In the order a user meets the commands: data and teacher, distill, export, bench and predict, the readers of
# records (report, show, compare, cache, ensemble), recipes and sweeps, search.
TABLES = {
    "data": cases_data.CASES,
    "teacher": cases_teacher.CASES,
    "distill": cases_distill.CASES,
    "export": cases_export.CASES,
    "bench": cases_bench.CASES,
    "inspect": cases_inspect.CASES,
    "recipes": cases_recipes.CASES,
    "search": cases_search.CASES,
}
CASES = [pytest.param(case, id=f"{table}/{case.name}") for table, cases in TABLES.items() for case in cases]
runner = CliRunner()


@pytest.fixture
def own_environment():
    """--device and --threads hold for the rest of a process (kdedge.compute keeps them in the environment): a case
    that sets one, even to a refused value, must not reach the next case."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.parametrize("case", CASES)
def test_fails_cleanly_and_keeps_every_file(tmp_path, made, monkeypatch, own_environment, case):
    monkeypatch.chdir(tmp_path)  # a default output (report.html, runs/...) would land here, inside the snapshot
    ws = Workspace(tmp_path, made)
    args = [str(a) for a in case.argv(ws)]
    before = snapshot(tmp_path)
    line = one_line(runner.invoke(app, args))
    assert case.says in line, line
    assert snapshot(tmp_path) == before


def test_names_are_unique():
    names = [p.id for p in CASES]
    assert len(names) == len(set(names))
