"""Recipes: validation before any work (one line naming file, key and allowed values), addressing, the shipped set,
and `quick` end to end through the CLI."""

import json

import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.recipes import RecipeError, load_recipe, shipped_names
from kdedge.recipes.address import assign, parse_grid, parse_set

runner = CliRunner()


GOOD = """
description = "test recipe"
seed = 0

[data]
name = "digits"

[teacher]
arch = "cnn"
epochs = 2

[[students]]
name = "kd"
family = "mlp"
method = "kd"
temperature = 4.0
hidden = [16]

[[students]]
name = "hard"
family = "mlp"
method = "hard"
hidden = [16]
"""

# Tiny settings for anything that trains in tests.
FAST = ["--set", "teacher.epochs=2", "--set", "student.epochs=2", "--set", "bench.min_runs=5"]
FAST += ["--set", "bench.min_seconds=0", "--set", "bench.memory=false", "--set", "bench.threads=1"]
FAST += ["--set", "bench.batch=1"]


def kdedge(*args):
    return runner.invoke(app, [str(a) for a in args])


def write(tmp_path, text, name="r.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def bad_line(tmp_path, text, *extra):
    """Run a bad recipe: it must fail with exit 2, one line on stderr, and nothing created."""
    path = write(tmp_path, text)
    out = tmp_path / "out"
    r = kdedge("run", path, "--out", out, *extra)
    assert r.exit_code == 2, r.output
    assert not out.exists()  # validated before any work
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), r.stderr
    return lines[0]


def test_unknown_top_level_key_names_the_allowed_keys(tmp_path):
    line = bad_line(tmp_path, "colour = 'red'\n" + GOOD)
    assert "colour: unknown key; allowed: description, seed, data, teacher, students" in line


def test_wrong_type_names_the_dotted_key(tmp_path):
    line = bad_line(tmp_path, GOOD.replace("temperature = 4.0", 'temperature = "hot"'))
    assert "students[0].temperature:" in line and "'hot'" in line


def test_unknown_family_lists_the_registered_ones(tmp_path):
    from kdedge.recipes.schema import families

    line = bad_line(tmp_path, GOOD.replace('family = "mlp"\nmethod = "hard"', 'family = "mpl"\nmethod = "hard"'))
    assert f"students[1].family: unknown student family 'mpl'; allowed: {', '.join(families())}" in line


def test_unknown_method_lists_the_registered_ones(tmp_path):
    from kdedge.distillation.methods import METHODS

    line = bad_line(tmp_path, GOOD.replace('method = "kd"', 'method = "kdd"'))
    assert f"students[0].method: unknown method 'kdd'; allowed: {', '.join(METHODS)}" in line


def test_method_that_does_not_fit_the_family(tmp_path):
    from kdedge.distillation.methods import METHODS, methods_for
    from kdedge.recipes.schema import families
    from kdedge.students import STUDENTS

    # any family and a registered method it does not accept (there is one as soon as non-neural families exist)
    pairs = [(f, m) for f in families() for m in METHODS if m not in methods_for(STUDENTS[f])]
    if not pairs:
        pytest.skip("every family accepts every method")
    family, method = pairs[0]
    text = GOOD.replace('family = "mlp"\nmethod = "hard"\nhidden = [16]', f'family = "{family}"\nmethod = "{method}"')
    line = bad_line(tmp_path, text)
    assert f"students[1].method: method '{method}' does not apply to family {family}; allowed: " in line


def test_option_of_no_owner_lists_what_the_student_takes(tmp_path):
    line = bad_line(tmp_path, GOOD.replace("hidden = [16]\n\n[[students]]", "hiden = [16]\n\n[[students]]"))
    assert "students[0].hiden: not an option of family mlp, method kd or transfer train; allowed:" in line
    assert "hidden" in line and "temperature" in line and "epochs" in line


def test_option_value_validated_by_its_owner(tmp_path):
    line = bad_line(tmp_path, GOOD.replace("temperature = 4.0", "temperature = -1.0"))
    assert "students[0].temperature:" in line and "greater than 0" in line


def test_teacher_reference_must_exist(tmp_path):
    line = bad_line(tmp_path, GOOD + '\n[[students]]\nname = "x"\nfamily = "mlp"\nmethod = "kd"\nteacher = "nobody"\n')
    assert "students[2].teacher: no teacher named 'nobody' before this student; allowed: teacher, kd, hard" in line


def test_born_again_keeps_the_teachers_architecture(tmp_path):
    extra = '\n[[students]]\nname = "x"\nfamily = "cnn"\nmethod = "kd"\nteacher = "kd"\ngenerations = 2\n'
    line = bad_line(tmp_path, GOOD + extra)
    assert "students[2].family: born-again (generations) retrains the teacher's own architecture; 'kd' is a mlp" in line
    assert line.endswith("allowed: mlp")


def test_unknown_export_target(tmp_path):
    from kdedge.convert.profiles import shipped_names as targets

    line = bad_line(tmp_path, GOOD + '\n[export]\ntarget = "gpu-fp8"\n')
    assert f"export.target: unknown export profile 'gpu-fp8'; allowed: {', '.join(targets())}" in line


def test_bad_override_names_the_key(tmp_path):
    line = bad_line(tmp_path, GOOD, "--set", "student.colour=1")
    assert "(--set): student.colour: no student in the recipe takes 'colour'; allowed:" in line


def test_invalid_toml(tmp_path):
    line = bad_line(tmp_path, GOOD + "\n[[students]\n")
    assert "not valid TOML" in line


def test_student_keys_address_only_students_that_take_them():
    raw = load_recipe("quick").plan.raw
    out = assign(raw, "student.temperature", 8.0, "x")
    by_name = {s["name"]: s for s in out["students"]}
    assert by_name["mlp-kd"]["temperature"] == 8.0 and "temperature" not in by_name["mlp-hard"]
    out = assign(raw, "students.mlp-hard.hidden", [32], "x")
    assert {s["name"]: s["hidden"] for s in out["students"]} == {"mlp-kd": [64], "mlp-hard": [32]}
    assert assign(raw, "students[1].epochs", 3, "x")["students"][1]["epochs"] == 3
    assert assign(raw, "seed", 2, "x")["seed"] == 2 and raw["seed"] == 0  # a copy
    with pytest.raises(RecipeError, match="no student named 'nope'; allowed: mlp-kd, mlp-hard"):
        assign(raw, "students.nope.epochs", 3, "x")


def test_values_parse_as_toml():
    assert parse_set("student.hidden=[64, 32]") == ("student.hidden", [64, 32])
    assert parse_set("export.target=cpu-int8-static") == ("export.target", "cpu-int8-static")
    assert parse_grid("student.hidden=[64],[128,64]") == ("student.hidden", [[64], [128, 64]])
    assert parse_grid("student.temperature=1,4.5,8") == ("student.temperature", [1, 4.5, 8])
    assert parse_grid("bench.memory=true,false") == ("bench.memory", [True, False])


@pytest.mark.parametrize("name", shipped_names())
def test_every_shipped_recipe_validates(name):
    recipe = load_recipe(name)
    assert recipe.description and recipe.plan.students


def test_recipes_lists_the_shipped_ones_with_a_description():
    r = kdedge("recipes", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [row["name"] for row in rows] == shipped_names()
    assert {"quick", "hinton-mlp"} <= set(shipped_names())
    assert all(row["description"] for row in rows)


def test_quick_runs_end_to_end_and_can_be_rerun_exactly(tmp_path):
    out = tmp_path / "quick"
    r = kdedge("run", "quick", "--out", out, *FAST)
    assert r.exit_code == 0, r.output
    assert "mlp-kd" in r.stdout and "runtime floor" in r.stdout  # the bench table
    bench = json.loads((out / "bench.json").read_text())
    assert [row["name"] for row in bench["rows"]] == ["teacher", "mlp-kd", "mlp-hard", "runtime floor"]
    assert (out / "done.json").is_file()
    shipped = load_recipe("quick")
    assert (out / "recipe.toml").read_text() == shipped.text
    for name in ("teacher", "mlp-kd", "mlp-hard"):
        manifest = json.loads((out / name / "kdedge.json").read_text())
        assert manifest["recipe"]["text"] == shipped.text and manifest["recipe"]["entry"] == name
        assert ["teacher.epochs", 2] in manifest["recipe"]["overrides"]
        assert manifest["student"]["params"]["epochs"] == 2
    # the run folder replays the same recipe with the same overrides
    again = load_recipe(out)
    assert again.digest() == json.loads((out / "done.json").read_text())["digest"]
    assert again.plan.students[0].options["epochs"] == 2
    # an existing output is refused without --overwrite
    r = kdedge("run", "quick", "--out", out, *FAST)
    assert r.exit_code == 2 and "already exists" in r.stderr


def test_paths_are_relative_to_the_recipe_file(tmp_path, digits):
    import numpy as np

    text = GOOD.replace('name = "digits"', 'path = "data/d.npz"')
    line = bad_line(tmp_path, text)
    assert f"data.path: no such file or folder: {tmp_path / 'data' / 'd.npz'}" in line
    (tmp_path / "data").mkdir()
    np.savez(tmp_path / "data" / "d.npz", x=digits.x, y=digits.y)
    recipe = load_recipe(write(tmp_path, text))
    assert recipe.plan.data.spec == str(tmp_path / "data" / "d.npz")
    line = bad_line(tmp_path, text.replace('arch = "cnn"\nepochs = 2', 'path = "nowhere"'))
    assert "teacher.path: " in line and "no such teacher" in line


def test_loaded_teacher_averaged_teachers_and_an_ensemble(tmp_path, teacher_run):
    """A recipe that loads a finished teacher, distills a student from it, a second from the average of the
    teacher and the first student, and votes the two students into one ensemble graph."""
    text = f"""
description = "composition"
[data]
name = "digits"
[teacher]
path = "{teacher_run.path}"
[[students]]
name = "a"
family = "mlp"
method = "kd"
hidden = [16]
epochs = 2
[[students]]
name = "b"
family = "mlp"
method = "logits"
teacher = ["teacher", "a"]
hidden = [16]
epochs = 2
[[students]]
name = "reborn"
family = "mlp"
method = "kd"
teacher = "a"
generations = 2
epochs = 2
[[ensembles]]
name = "a-b"
members = ["a", "b"]
vote = "majority"
[bench]
threads = 1
batch = 1
memory = false
min_runs = 5
min_seconds = 0
"""
    out = tmp_path / "out"
    r = kdedge("run", write(tmp_path, text), "--out", out)
    assert r.exit_code == 0, r.output
    bench = json.loads((out / "bench.json").read_text())
    names = ["teacher", "a", "b", "reborn/gen1", "reborn/gen2", "reborn", "a-b", "runtime floor"]
    assert [row["name"] for row in bench["rows"]] == names
    assert not (out / "teacher").exists()  # loaded, not trained
    b = json.loads((out / "b" / "kdedge.json").read_text())
    assert b["teacher"]["kind"] == "average" and len(b["teacher"]["members"]) == 2
    assert json.loads((out / "a-b" / "kdedge.json").read_text())["family"] == "ensemble"
    gen2 = json.loads((out / "reborn" / "gen2" / "kdedge.json").read_text())  # born-again: gen1 taught gen2
    assert gen2["teacher"]["path"] == str((out / "reborn" / "gen1").resolve())
    assert json.loads((out / "reborn" / "ensemble" / "kdedge.json").read_text())["family"] == "ensemble"


def test_csv_data_with_reader_options_and_no_teacher(tmp_path, digits):
    """Reader options sit in [data] beside the path; without a [teacher], label-only students still run."""
    import numpy as np

    table = np.column_stack([digits.y, digits.x.reshape(len(digits.x), -1)])
    header = "digit," + ",".join(f"p{i}" for i in range(table.shape[1] - 1))
    np.savetxt(tmp_path / "d.csv", table, delimiter=",", header=header, comments="", fmt="%g")
    text = """
description = "csv, labels only"
[data]
path = "d.csv"
label_column = "digit"
[[students]]
name = "hard"
family = "mlp"
method = "hard"
hidden = [8]
epochs = 2
[bench]
threads = 1
batch = 1
memory = false
min_runs = 5
min_seconds = 0
"""
    line = bad_line(tmp_path, text.replace('method = "hard"', 'method = "kd"'))
    assert "students[0].method: method 'kd' needs a teacher; add a [teacher] table" in line
    line = bad_line(tmp_path, text.replace("label_column", "label_colum"))
    assert "data: --label-colum does not apply to --format csv" in line
    out = tmp_path / "out"
    r = kdedge("run", write(tmp_path, text), "--out", out)
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "hard" / "kdedge.json").read_text())
    assert manifest["data"]["sample_shape"] == [64] and manifest["teacher"] is None
    assert [row["name"] for row in json.loads((out / "bench.json").read_text())["rows"]] == ["hard", "runtime floor"]


@pytest.mark.parametrize("kind", ["onnx", "torchscript"])
def test_a_recipe_takes_an_onnx_or_torchscript_teacher_as_distill_does(tmp_path, teacher_files, kind):
    """The recipe's teacher goes through the resolver `kdedge distill` and `kdedge search` use."""
    text = f"""
description = "a teacher file"
[data]
name = "digits"
[teacher]
path = "{teacher_files[kind]}"
[[students]]
name = "a"
family = "mlp"
method = "kd"
hidden = [16]
epochs = 2
[bench]
threads = 1
batch = 1
memory = false
min_runs = 5
min_seconds = 0
"""
    out = tmp_path / "out"
    r = kdedge("run", write(tmp_path, text), "--out", out)
    assert r.exit_code == 0, r.output
    rows = json.loads((out / "bench.json").read_text())["rows"]
    assert "a" in [row["name"] for row in rows]
    assert any(row["kind"] == "teacher" for row in rows) == (kind == "onnx")  # a TorchScript teacher has no graph
    record = json.loads((out / "a" / "kdedge.json").read_text())["teacher"]
    assert record["kind"] == kind
