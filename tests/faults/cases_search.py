"""`kdedge search`: budgets, search spaces, samplers and counts refused before the first trial; searches to resume
that are not there or are damaged."""

from __future__ import annotations

import json

from .kit import Case, given


def search(ws, *extra, out="se"):
    return ["search", "--teacher", ws.run("teacher"), "--out", ws.root / out, *extra]


def space(ws, text: str | bytes):
    return search(ws, "--space", ws.file("space.toml", text))


def resume(ws, **files):
    """`search --resume` of a folder holding `files` (name -> content)."""
    for name, content in files.items():
        ws.file(f"se/{name.replace('_', '.')}", content)
    return ["search", "--resume", ws.root / "se"]


CASES = [
    # -- what is searched, and how ----------------------------------------------------------------------------------
    Case("no-teacher", lambda ws: ["search", "--out", ws.root / "se"], "--teacher"),
    Case(
        "teacher-missing", lambda ws: ["search", "--teacher", ws.root / "nowhere", "--out", ws.root / "se"], "nowhere"
    ),
    Case(
        "teacher-weights-swapped",
        lambda ws: given(ws.truncate(ws.run("teacher") / "weights.safetensors"), search(ws)),
        "changed since",
    ),
    Case("families-bogus", lambda ws: search(ws, "--families", "mlp,oak"), "oak"),
    Case("sampler-bogus", lambda ws: search(ws, "--sampler", "grid"), "grid"),
    Case("objective-bogus", lambda ws: search(ws, "--objective", "speed"), "speed"),
    Case("trials-0", lambda ws: search(ws, "--trials", 0), "--trials 0"),
    Case("jobs-0", lambda ws: search(ws, "--jobs", 0), "--jobs 0"),
    Case("seed-negative", lambda ws: search(ws, "--seed", -5), "--seed -5"),
    Case("max-epochs-0", lambda ws: search(ws, "--max-epochs", 0), "epochs"),
    Case("min-seconds-negative", lambda ws: search(ws, "--min-seconds", -1), "min"),
    Case("budget-agreement-2", lambda ws: search(ws, "--min-agreement", 2), "agreement"),
    Case("budget-size-negative", lambda ws: search(ws, "--max-size-kb", -1), "size"),
    Case("budget-latency-0", lambda ws: search(ws, "--max-latency-us", 0), "latency"),
    Case("target-unknown", lambda ws: search(ws, "--target", "gpu-fp64"), "gpu-fp64"),
    Case("data-other-shape", lambda ws: search(ws, "--data", "digits-shift"), "shape"),
    # -- the search space -------------------------------------------------------------------------------------------
    Case("space-missing", lambda ws: search(ws, "--space", ws.root / "space.toml"), "space.toml"),
    Case("space-empty", lambda ws: space(ws, ""), "no families"),
    Case("space-not-toml", lambda ws: space(ws, "[mlp\n"), "space.toml"),
    Case("space-not-utf8", lambda ws: space(ws, b"[mlp]\nhidden = ['\xff']\n"), "utf-8"),
    Case("space-family-unknown", lambda ws: space(ws, "[oak]\nmax_depth = [2]\n"), "oak"),
    Case("space-option-unknown", lambda ws: space(ws, "[tree]\nbranches = [2]\n"), "branches"),
    Case("space-list-choice", lambda ws: space(ws, "[mlp]\nhidden = [[64, 32]]\n"), "one value"),
    Case("space-bad-value", lambda ws: space(ws, "[mlp]\nhidden = [0]\n"), "hidden"),
    Case("space-not-a-table", lambda ws: space(ws, "mlp = 3\n"), "mlp"),
    Case("space-no-choices", lambda ws: space(ws, "[tree]\nmax_depth = []\n"), "non-empty list"),
    Case("space-method-the-family-cannot-take", lambda ws: space(ws, '[tree]\nmethod = ["kd"]\n'), "do not take"),
    # -- outputs and resumes ----------------------------------------------------------------------------------------
    Case("out-existing", lambda ws: given(ws.run("mlp"), search(ws, out="runs/mlp")), "already exists"),
    Case("out-is-the-teacher", lambda ws: search(ws, "--overwrite", out="runs/teacher"), "--teacher"),
    Case(
        "out-overwrite-foreign",
        lambda ws: given(ws.file("photos/cat.jpg", "meow"), search(ws, "--overwrite", out="photos")),
        "not a kdedge folder",
    ),
    Case("resume-missing", lambda ws: ["search", "--resume", ws.root / "nowhere"], "nowhere"),
    Case("resume-not-a-search", lambda ws: ["search", "--resume", ws.folder("se")], "not a kdedge search"),
    Case("resume-config-corrupt", lambda ws: resume(ws, search_json="{", study_db=b""), "search.json"),
    Case("resume-config-a-list", lambda ws: resume(ws, search_json="[]", study_db=b""), "search.json"),
    Case(
        "resume-config-fields",
        lambda ws: resume(ws, search_json='{"teacher": "t", "colour": 1}', study_db=b""),
        "unknown field",
    ),
    Case("resume-teacher-gone", lambda ws: resume(ws, search_json='{"teacher": "gone"}', study_db=b""), "gone"),
    Case(
        "resume-study-empty",
        lambda ws: resume(ws, search_json=json.dumps({"teacher": str(ws.run("teacher"))}), study_db=b""),
        "not an SQLite study",
    ),
    Case(
        "resume-study-damaged",
        lambda ws: resume(
            ws, search_json=json.dumps({"teacher": str(ws.run("teacher"))}), study_db=b"not sqlite" * 100
        ),
        "study.db",
    ),
    Case("resume-trials-0", lambda ws: ["search", "--resume", ws.folder("se"), "--trials", 0], "--trials 0"),
]
