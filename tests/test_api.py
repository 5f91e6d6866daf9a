"""The public API: the README's notebook block runs as written; every registry field reaches every surface; the
examples use only `import kdedge`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import typer.main

import kdedge
from kdedge.options import catalog, owners, route, split

ROOT = Path(__file__).resolve().parents[1]


def test_readme_notebook_block_runs_as_written(tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## In Python \(a notebook\).*?```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert isinstance(namespace["student"], kdedge.Run)
    assert (tmp_path / "runs/nb/mlp/model.onnx").is_file()
    rows = {r["name"]: r for r in namespace["rows"]}
    assert set(rows) == {"mlp", "teacher", "runtime floor"}
    assert 0.8 < rows["mlp"]["accuracy"] <= 1 and rows["mlp"]["kl_teacher"] >= 0
    assert "runtime floor" in capsys.readouterr().out


def _combination(owner: str) -> tuple[str, str, str]:
    """A (family, method, transfer) where `owner` takes part, e.g. '--method fsp' -> ('cnn', 'fsp', 'train')."""
    from kdedge.distillation.methods import methods_for
    from kdedge.students import STUDENTS

    option, name = owner.split(" ", 1)
    if option == "--student":
        return name, methods_for(STUDENTS[name])[0], "train"
    if option == "--method":
        family = next(f for f, cls in STUDENTS.items() if cls.distilled and name in methods_for(cls))
        return family, name, "train"
    return "mlp", "kd", name


def test_every_registry_field_is_a_cli_flag_a_recipe_key_a_search_key_and_an_api_keyword(tmp_path):
    from kdedge.budget_search.space import load_space
    from kdedge.cli import app
    from kdedge.recipes import schema

    distill_params = {p.name for p in typer.main.get_command(app).commands["distill"].params}
    specs = catalog()
    assert {"hidden", "temperature", "transfer_size", "teacher_mode", "weight_decay", "mixup_alpha"} <= set(specs)
    for name, spec in specs.items():
        assert name in distill_params, f"--{name} is not a distill flag"
        for owner in spec.owners:
            family, method, transfer = _combination(owner)
            routed = split({name: object()}, owners(family, method, transfer))  # what recipes, search and API use
            assert not isinstance(routed, str), f"{name} not routed for {owner}"
            assert schema.option_owners is owners and schema.split is split  # recipes: this very router
        space_file = tmp_path / f"{name}.toml"  # a search space naming the key: accepted, not "not an option"
        space_file.write_text(f'[{_combination(spec.owners[0])[0]}]\n{name} = ["x"]\n')
        try:  # the value "x" may be refused (choices are validated up front), the key never
            load_space(space_file, None)
        except kdedge.KdedgeError as exc:
            assert "not an option" not in str(exc), exc


def test_router_refuses_an_option_naming_where_it_applies():
    with pytest.raises(kdedge.KdedgeError, match="--max-shift does not apply to .*; it applies to --transfer shift"):
        route("mlp", "kd", "train", {"max_shift": 3})
    with pytest.raises(kdedge.KdedgeError, match="--method softmax does not apply to --student mlp"):
        route("mlp", "softmax")
    with pytest.raises(kdedge.KdedgeError, match="--student ensemble is not trained by a method: .*kdedge ensemble"):
        route("ensemble", "kd")
    routed = route("forest", "softmax", "shift+mixup", {"n_estimators": "5", "temperature": 1, "transfer_size": "2x"})
    assert routed.params.n_estimators == 5 and routed.method.temperature == 1 and routed.transfer.transfer_size == 2


def test_api_distill_refuses_bad_options_before_any_work(tmp_path, teacher_run):
    with pytest.raises(kdedge.KdedgeError, match="--hiden does not apply"):
        kdedge.distill(teacher_run, out=tmp_path / "s", hiden=3)
    with pytest.raises(kdedge.KdedgeError, match="needs a teacher"):
        kdedge.distill(None, "digits", out=tmp_path / "s", method="kd")
    assert not (tmp_path / "s").exists()


def test_examples_use_only_the_public_api():
    for path in (ROOT / "examples").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kdedge"):
                pytest.fail(f"{path.name}: from {node.module} import ... (use `import kdedge`)")
            if isinstance(node, ast.Import):
                assert all(a.name == "kdedge" or not a.name.startswith("kdedge") for a in node.names), path.name


def test_import_kdedge_stays_light():
    import subprocess
    import sys

    code = "import sys, kdedge; print(sorted(m for m in ('torch', 'sklearn', 'onnx', 'lightgbm') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_api_docstring_examples_run():
    import doctest

    import kdedge.api

    result = doctest.testmod(kdedge.api, globs={"kdedge": kdedge}, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 2 and result.failed == 0
