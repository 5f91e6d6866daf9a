"""#26: `kdedge distill` without --method/--transfer teaches with the default measured for the data and family, says
so in one line, records it; --baseline trains the hard-label twin and records the gain on val."""

import json

import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.defaults import STUDENT_RECIPES, student_recipe
from kdedge.jobs.student_plan import plan_student

runner = CliRunner()


def kdedge(*args):
    return runner.invoke(app, [str(a) for a in args])


def manifest(path):
    return json.loads((path / "kdedge.json").read_text())


def metrics(path):
    return json.loads((path / "metrics.json").read_text())


def test_every_recipe_names_its_evidence_and_routes():
    from kdedge.options import route

    for recipe in STUDENT_RECIPES:
        assert recipe["evidence"] and recipe["when"]
        for family in recipe["families"]:
            options = dict(recipe["options"])
            if family in recipe["epochs"]:
                options.update(epochs=recipe["epochs"][family])
            route(family, recipe["method"], recipe["transfer"], options)  # every default is a valid command


def test_the_plan_applies_only_where_the_user_left_the_teaching_out():
    plan = plan_student("mlp", "image", None, None, {"hidden": (16,), "epochs": 5}, True, None, n_train=10_000)
    assert (plan.method, plan.transfer) == ("kd", "shift") and not plan.baseline
    assert plan.options["epochs"] == 5 and plan.options["temperature"] == 1.0  # the user's options on top
    assert "epochs" not in plan.record["chose"] and plan.record["chose"]["patience"] == 40
    assert "teaching: --method kd, --transfer shift" in plan.line() and "default for mlp and cnn" in plan.line()
    chosen = plan_student("mlp", "image", "kd", None, {}, True, None)  # --method given: nothing chosen for the user
    assert (chosen.method, chosen.transfer, chosen.record, chosen.line()) == ("kd", "train", None, None)
    assert plan_student("mlp", "image", None, None, {}, False, None).record is None  # no teacher: no teaching
    assert (
        student_recipe("vector", "mlp") is None
        and plan_student("mlp", "vector", None, None, {}, True, None).record is None
    )
    small = plan_student("mlp", "image", None, None, {}, True, None, n_train=1_000)  # small sets: beside labels
    assert small.record["recipe"] == "student/neural-images-small" and small.baseline and small.select
    trees = plan_student("forest", "image", None, None, {}, True, None)
    assert trees.baseline and trees.select and (trees.method, trees.transfer) == ("logits", "shift")
    assert not plan_student("forest", "image", None, None, {}, True, False).baseline  # --no-baseline


def test_distill_without_teaching_options_says_and_records_the_default(tmp_path, teacher_run):
    out = tmp_path / "mlp"
    args = ("--student", "mlp", "--hidden", 8, "--epochs", 2, "--no-baseline", "--out", out)
    r = kdedge("distill", "--teacher", teacher_run.path, *args)
    assert r.exit_code == 0, r.output
    assert "teaching: --method kd, --transfer shift" in r.output
    m = manifest(out)
    assert m["defaults"]["recipe"] == "student/neural-images-small" and m["transfer"]["kind"] == "shift"
    assert m["method"]["temperature"] == 1.0 and m["student"]["params"]["schedule"] == "cosine"
    assert m["baseline"] is None and not (out / "baseline").exists()  # --no-baseline: the taught one alone


def test_baseline_trains_the_hard_label_twin_and_records_the_gain(tmp_path, teacher_run):
    out = tmp_path / "mlp"
    args = ("--student", "mlp", "--hidden", 8, "--epochs", 2, "--method", "kd", "--baseline", "--out", out)
    r = kdedge("distill", "--teacher", teacher_run.path, *args)
    assert r.exit_code == 0, r.output
    assert "vs labels on val:" in r.output
    twin, record = manifest(out / "baseline"), manifest(out)["baseline"]
    assert twin["method"]["name"] == "hard" and twin["student"]["params"] == manifest(out)["student"]["params"]
    assert record["kept"] == "taught" and record["run"] == "baseline"
    taught, labels = metrics(out)["val_accuracy"], metrics(out / "baseline")["val_accuracy"]
    assert record["val_gain"] == pytest.approx(taught - labels)  # by hand, from the two runs' own figures
    assert not list(tmp_path.glob(".*baseline*"))  # the hidden twin folder was moved in, not left beside
    shown = kdedge("compare", out, out / "baseline")
    assert shown.exit_code == 0 and "vs labels (val)" in shown.output


def test_the_default_for_trees_keeps_the_better_of_taught_and_labels_on_val(tmp_path, teacher_run):
    out = tmp_path / "tree"
    r = kdedge("distill", "--teacher", teacher_run.path, "--student", "tree", "--max-depth", 4, "--out", out, "--json")
    assert r.exit_code == 0, r.output
    record = json.loads(r.stdout)["baseline"]
    other = out / record["run"]
    assert record["run"] == ("taught" if record["kept"] == "labels" else "baseline")
    assert metrics(out)["val_accuracy"] >= metrics(other)["val_accuracy"]  # selection on val, never test
    assert manifest(out)["defaults"]["recipe"] == "student/trees-images"  # said even when labels were kept


def test_a_finished_twin_is_reused_when_the_command_runs_again(tmp_path, teacher_run, digits):
    from kdedge.jobs import Job, execute, resolve
    from kdedge.jobs.baseline import hard_twin
    from kdedge.jobs.job import finished_run

    teacher = resolve(teacher_run.path, data=digits).teacher
    job = Job.of(out=tmp_path / "s", family="tree", method="logits", options={"max_depth": 2}, dataset=digits,
                 data_source="digits", teacher=teacher)  # fmt: skip
    twin = hard_twin(job)
    assert finished_run(twin) is None
    made = execute(twin)
    assert finished_run(twin).path == made.path
    assert finished_run(twin.but(seed=1)) is None and finished_run(job.but(out=twin.out)) is None


def test_the_twin_gets_the_same_budget_of_steps(tmp_path, digits):
    from kdedge.jobs import Job
    from kdedge.jobs.baseline import hard_twin

    job = Job.of(out=tmp_path / "s", family="mlp", method="kd", transfer="shift", dataset=digits, data_source="digits",
                 options={"epochs": 8, "patience": 8, "transfer_size": "5x"})  # fmt: skip
    twin = hard_twin(job)
    assert twin.method.name == "hard" and twin.transfer is None
    assert (twin.options["epochs"], twin.options["patience"]) == (40, 40)  # 8 epochs over 5x the split = 40 over it
    online = Job.of(out=tmp_path / "o", family="mlp", method="kd", transfer="shift", dataset=digits,
                    data_source="digits", options={"epochs": 8, "teacher_mode": "online"})  # fmt: skip
    assert hard_twin(online).options["epochs"] == 8  # online: each epoch is one pass over the split


def test_a_baseline_killed_while_its_twin_trains_resumes_with_the_same_student(tmp_path, teacher_run):
    from kdedge.jobs.baseline import PENDING, is_pending

    out = tmp_path / "mlp"
    args = ("distill", "--teacher", teacher_run.path, "--student", "mlp", "--hidden", 8, "--epochs", 2, "--method",
            "kd", "--out", out)  # fmt: skip
    assert kdedge(*args).exit_code == 0  # the taught student alone, as the first half of a --baseline command
    m = manifest(out)
    m["baseline"] = PENDING  # what the command leaves when it is killed while the twin trains
    (out / "kdedge.json").write_text(json.dumps(m))
    weights = (out / "weights.safetensors").read_bytes()
    assert is_pending(out)
    r = kdedge(*args, "--baseline")  # the same command, without --overwrite
    assert r.exit_code == 0, r.output
    assert (out / "weights.safetensors").read_bytes() == weights  # reused, not trained again
    assert manifest(out)["baseline"]["run"] == "baseline" and (out / "baseline" / "kdedge.json").is_file()
    other = kdedge("distill", "--teacher", teacher_run.path, "--student", "mlp", "--hidden", 16, "--epochs", 2,
                   "--method", "kd", "--out", tmp_path / "other")  # fmt: skip
    assert other.exit_code == 0
    m = manifest(tmp_path / "other")
    m["baseline"] = PENDING
    (tmp_path / "other" / "kdedge.json").write_text(json.dumps(m))
    refused = kdedge(*args[:-1], tmp_path / "other", "--baseline")  # another command's student: not continued
    assert refused.exit_code == 2 and "already exists" in refused.output
