"""`kdedge run` and `kdedge sweep`: recipes that cannot be read or validated, overrides and grids refused, records of
earlier runs that are damaged, and outputs that are not theirs to replace — all before any training."""

from __future__ import annotations

import numpy as np

from .kit import MINIMAL_RECIPE, Case, given, quick_recipe


def run(ws, recipe, *extra, out="o"):
    return ["run", recipe, "--out", ws.root / out, *extra]


def sweep(ws, *extra, out="sw", recipe=None):
    return ["sweep", recipe or quick_recipe(ws), "--grid", "seed=0,1", "--out", ws.root / out, *extra]


def toml(ws, text: str | bytes):
    return ws.file("r.toml", text)


def replay(ws, record: str | bytes):
    """`kdedge run DIR` of a recipe output whose recipe.json holds `record`."""
    return run(ws, ws.file("old/recipe.json", record).parent, out="new")


def finished_sweep(ws, plan: str) -> object:
    ws.file("sw/sweep.json", plan)
    return sweep(ws)


FACTORY_TEACHER = MINIMAL_RECIPE.replace(
    '[teacher]\narch = "cnn"\nepochs = 1\n', '[teacher]\npath = "t.safetensors"\nfactory = "{}"\n'
)

LOADED_TEACHER = MINIMAL_RECIPE.replace('[teacher]\narch = "cnn"\nepochs = 1\n', '[teacher]\npath = "{}"\n')

CASES = [
    # -- run: the recipe --------------------------------------------------------------------------------------------
    Case("recipe-missing", lambda ws: run(ws, ws.root / "r.toml"), "no such recipe"),
    Case("recipe-unknown-name", lambda ws: run(ws, "quikc"), "quikc"),
    Case("recipe-not-toml", lambda ws: run(ws, toml(ws, "[data\nname = 1")), "not valid TOML"),
    Case("recipe-not-utf8", lambda ws: run(ws, toml(ws, b'description = "\xff\xfe"\n')), "UTF-8"),
    Case("recipe-empty", lambda ws: run(ws, toml(ws, "")), "description: missing"),
    Case("recipe-unknown-key", lambda ws: run(ws, toml(ws, MINIMAL_RECIPE + "colour = 'blue'\n")), "colour"),
    Case(
        "recipe-no-students",
        lambda ws: run(ws, toml(ws, 'description = "x"\n[data]\nname = "digits"\n\n[teacher]\nepochs = 1\n')),
        "students",
    ),
    Case(
        "recipe-student-family-bogus",
        lambda ws: run(ws, toml(ws, MINIMAL_RECIPE.replace('family = "tree"', 'family = "oak"'))),
        "oak",
    ),
    Case("recipe-student-option-bogus", lambda ws: run(ws, toml(ws, MINIMAL_RECIPE + "hidden = [8]\n")), "hidden"),
    Case(
        "recipe-student-value-bad",
        lambda ws: run(ws, toml(ws, MINIMAL_RECIPE.replace("max_depth = 2", "max_depth = 0"))),
        "max_depth",
    ),
    Case(
        "recipe-student-name-reserved",
        lambda ws: run(ws, toml(ws, MINIMAL_RECIPE.replace('name = "tree"', 'name = "teacher"'))),
        "reserved",
    ),
    Case(
        "recipe-students-same-name",
        lambda ws: run(ws, toml(ws, MINIMAL_RECIPE + MINIMAL_RECIPE[MINIMAL_RECIPE.index("[[students]]") :])),
        "used by an earlier student",
    ),
    Case(
        "recipe-data-unknown",
        lambda ws: run(ws, toml(ws, MINIMAL_RECIPE.replace('name = "digits"', 'name = "mnistt"'))),
        "mnistt",
    ),
    Case(
        "recipe-data-path-missing",
        lambda ws: run(ws, toml(ws, MINIMAL_RECIPE.replace('name = "digits"', 'path = "d.npz"'))),
        "d.npz",
    ),
    Case(
        "recipe-data-damaged",
        lambda ws: given(
            ws.file("d.npz", b"junk"), run(ws, toml(ws, MINIMAL_RECIPE.replace('name = "digits"', 'path = "d.npz"')))
        ),
        "d.npz",
    ),
    Case(
        "recipe-teacher-both",
        lambda ws: run(ws, toml(ws, MINIMAL_RECIPE.replace("epochs = 1", 'path = "t"'))),
        "exactly one",
    ),
    Case(
        "recipe-teacher-path-missing",
        lambda ws: run(ws, toml(ws, FACTORY_TEACHER.format("f.py:build"))),
        "t.safetensors",
    ),
    Case(
        "recipe-factory-untrusted",
        lambda ws: given(ws.file("t.safetensors", b"x"), run(ws, toml(ws, FACTORY_TEACHER.format("f.py:build")))),
        "--trust-code",
    ),
    Case(
        "recipe-factory-module-untrusted",
        lambda ws: given(ws.file("t.safetensors", b"x"), run(ws, toml(ws, FACTORY_TEACHER.format("this:x")))),
        "--trust-code",
    ),
    Case(
        "recipe-export-target-unknown",
        lambda ws: run(ws, toml(ws, MINIMAL_RECIPE + '\n[export]\ntarget = "gpu-fp64"\n')),
        "gpu-fp64",
    ),
    Case(
        "recipe-bench-threads-0", lambda ws: run(ws, toml(ws, MINIMAL_RECIPE + "\n[bench]\nthreads = [0]\n")), "threads"
    ),
    # -- run: overrides, replays, outputs ---------------------------------------------------------------------------
    Case("set-without-equals", lambda ws: run(ws, "quick", "--set", "teacher.epochs"), "teacher.epochs"),
    Case("set-unknown-key", lambda ws: run(ws, "quick", "--set", "teacher.colour=blue"), "colour"),
    Case("set-bad-value", lambda ws: run(ws, "quick", "--set", "teacher.epochs=abc"), "epochs"),
    Case("set-negative-seed", lambda ws: run(ws, "quick", "--set", "seed=-1"), "seed"),
    Case("replay-no-record", lambda ws: run(ws, ws.folder("old"), out="new"), "old"),
    Case("replay-record-corrupt", lambda ws: replay(ws, '{"name": "q"'), "recipe.json"),
    Case("replay-record-a-list", lambda ws: replay(ws, "[]"), "recipe.json"),
    Case("replay-record-fields-missing", lambda ws: replay(ws, '{"name": "q"}'), "recipe.json"),
    Case("replay-record-not-utf8", lambda ws: replay(ws, b'{"name": "\xff"}'), "recipe.json"),
    Case("out-existing", lambda ws: given(ws.run("mlp"), run(ws, "quick", out="runs/mlp")), "already exists"),
    Case(
        "out-is-the-teacher",
        lambda ws: run(ws, toml(ws, LOADED_TEACHER.format(ws.run("teacher"))), "--overwrite", out="runs/teacher"),
        "recipe's input",
    ),
    Case(
        "out-holds-the-data",
        lambda ws: given(
            ws.npz("data/d.npz", x=np.zeros((60, 8)), y=np.arange(60) % 3),
            run(
                ws,
                toml(ws, MINIMAL_RECIPE.replace('name = "digits"', 'path = "data/d.npz"')),
                "--overwrite",
                out="data",
            ),
        ),
        "recipe's input",
    ),
    Case(
        "out-overwrite-foreign",
        lambda ws: given(ws.file("photos/cat.jpg", "meow"), run(ws, "quick", "--overwrite", out="photos")),
        "not a kdedge folder",
    ),
    Case(
        "out-under-a-file",
        lambda ws: given(ws.file("notes.txt", "mine"), run(ws, "quick", out="notes.txt/o")),
        "is a file",
    ),
    # -- sweep ------------------------------------------------------------------------------------------------------
    Case("sweep-grid-without-equals", lambda ws: sweep(ws, "--grid", "seed"), "seed"),
    Case("sweep-grid-unknown-key", lambda ws: sweep(ws, "--grid", "teacher.colour=1,2"), "colour"),
    Case("sweep-grid-bad-value", lambda ws: sweep(ws, "--grid", "student.hidden=0,8"), "hidden"),
    Case("sweep-grid-empty", lambda ws: sweep(ws, "--grid", "student.epochs="), "student.epochs"),
    Case("sweep-jobs-0", lambda ws: sweep(ws, "--jobs", 0), "--jobs 0"),
    Case("sweep-jobs-negative", lambda ws: sweep(ws, "--jobs", -2), "--jobs -2"),
    Case("sweep-backend-bogus", lambda ws: sweep(ws, "--backend", "slurm"), "slurm"),
    Case("sweep-recipe-damaged", lambda ws: sweep(ws, recipe=toml(ws, "[data\n")), "not valid TOML"),
    Case(
        "sweep-factory-untrusted",
        lambda ws: given(
            ws.file("t.safetensors", b"x"), sweep(ws, recipe=toml(ws, FACTORY_TEACHER.format("f.py:build")))
        ),
        "--trust-code",
    ),
    Case("sweep-out-file", lambda ws: given(ws.file("notes.txt", "mine"), sweep(ws, out="notes.txt")), "is a file"),
    Case(
        "sweep-out-foreign",
        lambda ws: given(ws.file("photos/cat.jpg", "meow"), sweep(ws, "--overwrite", out="photos")),
        "not a sweep folder",
    ),
    Case("sweep-plan-corrupt", lambda ws: finished_sweep(ws, "{"), "sweep.json"),
    Case("sweep-plan-a-list", lambda ws: finished_sweep(ws, "[]"), "sweep.json"),
    Case("sweep-plan-other-recipe", lambda ws: finished_sweep(ws, '{"recipe": {"digest": "0"}, "jobs": []}'), "sweep"),
]
