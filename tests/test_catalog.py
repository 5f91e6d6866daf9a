import json

from typer.testing import CliRunner

from kdedge.cli import app


def test_students_and_methods_list_the_registries():
    from kdedge.distillation.methods import METHODS
    from kdedge.students import STUDENTS

    runner = CliRunner()
    students = json.loads(runner.invoke(app, ["students", "--json"]).output)
    assert {row["family"] for row in students} == set(STUDENTS) >= {"mlp", "cnn"}
    mlp = next(row for row in students if row["family"] == "mlp")
    assert "--hidden" in mlp["options"] and "kd" in mlp["methods"]
    methods = json.loads(runner.invoke(app, ["methods", "--json"]).output)
    assert [row["method"] for row in methods] == list(METHODS)
    assert "--temperature" in next(row for row in methods if row["method"] == "kd")["options"]
