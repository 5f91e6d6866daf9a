"""Commands that read what others wrote — `report`, `show`, `compare`, `cache` — and `ensemble`, which combines runs:
damaged records are one line naming the file, and outputs never replace what kdedge did not write."""

from __future__ import annotations

from .kit import Case, given


def report(ws, root, *extra):
    return ["report", root, "--out", ws.root / "r.html", *extra]


def runs_with(ws, name: str, content: str | bytes):
    """The runs folder (a copy of the MLP in it) plus a file `name` holding `content`."""
    ws.run("mlp")
    ws.file(f"runs/{name}", content)
    return ws.root / "runs"


def ensemble(ws, *extra, out="e"):
    return ["ensemble", ws.run("mlp"), ws.run("tree"), "--out", ws.root / out, *extra]


CASES = [
    # -- report -----------------------------------------------------------------------------------------------------
    Case("report-root-missing", lambda ws: report(ws, ws.root / "nowhere"), "nowhere"),
    Case("report-root-a-file", lambda ws: report(ws, ws.file("notes.txt", "mine")), "notes.txt"),
    Case("report-root-no-runs", lambda ws: report(ws, ws.folder("empty")), "empty"),
    Case(
        "report-include-matches-nothing",
        lambda ws: report(ws, ws.run("mlp").parent, "--include", "sweep-*"),
        "match --include",
    ),
    Case("report-family-5", lambda ws: report(ws, ws.edited("mlp", lambda m: m.update(family=5)).parent), "family"),
    Case("report-manifest-not-json", lambda ws: report(ws, runs_with(ws, "broken/kdedge.json", "{")), "kdedge.json"),
    Case("report-bench-json-corrupt", lambda ws: report(ws, runs_with(ws, "bench.json", '{"rows": [')), "bench.json"),
    Case("report-bench-json-a-list", lambda ws: report(ws, runs_with(ws, "bench.json", "[1, 2]")), "bench.json"),
    Case(
        "report-bench-rows-not-records",
        lambda ws: report(ws, runs_with(ws, "bench.json", '{"rows": [1, 2], "machine": {}}')),
        "bench.json",
    ),
    Case(
        "report-sweep-results-corrupt",
        lambda ws: given(ws.file("runs/sw/sweep.json", "{}"), report(ws, runs_with(ws, "sw/results.json", "["))),
        "results.json",
    ),
    Case("report-sweep-json-corrupt", lambda ws: report(ws, runs_with(ws, "sw/sweep.json", "{")), "sweep.json"),
    Case(
        "report-out-existing",
        lambda ws: given(ws.file("r.html", "<p>mine</p>"), report(ws, ws.run("mlp").parent)),
        "already exists",
    ),
    Case(
        "report-out-foreign-overwrite",
        lambda ws: given(ws.file("r.html", "<p>mine</p>"), report(ws, ws.run("mlp").parent, "--overwrite")),
        "not written by kdedge",
    ),
    Case("report-out-folder", lambda ws: ["report", ws.run("mlp").parent, "--out", ws.folder("d")], "is a folder"),
    Case(
        "report-out-in-a-run",
        lambda ws: ["report", ws.run("mlp").parent, "--out", ws.run("mlp") / "metrics.json"],
        "kdedge folder",
    ),
    Case(
        "report-default-out-foreign",
        lambda ws: given(ws.file("report.html", "mine"), ["report", ws.run("mlp").parent, "--overwrite"]),
        "not written by kdedge",
    ),
    # -- show, compare ----------------------------------------------------------------------------------------------
    Case("show-missing", lambda ws: ["show", ws.root / "nowhere"], "nowhere"),
    Case("show-not-a-run", lambda ws: ["show", ws.folder("empty")], "not a kdedge run"),
    Case("show-manifest-not-json", lambda ws: ["show", ws.replaced("mlp", "kdedge.json", "{")], "kdedge.json"),
    Case("show-manifest-damaged", lambda ws: ["show", ws.edited("mlp", lambda m: m.pop("data"))], "data"),
    Case("compare-missing", lambda ws: ["compare", ws.run("mlp"), ws.root / "nowhere"], "nowhere"),
    Case("compare-one-run", lambda ws: ["compare", ws.run("mlp")], "two"),
    Case(
        "compare-manifest-damaged",
        lambda ws: ["compare", ws.run("tree"), ws.edited("mlp", lambda m: m.update(kind=3))],
        "kind",
    ),
    # -- cache ------------------------------------------------------------------------------------------------------
    Case("cache-list-dir-a-file", lambda ws: ["cache", "list", "--cache-dir", ws.file("cache", "mine")], "cache"),
    Case("cache-clear-dir-a-file", lambda ws: ["cache", "clear", "--cache-dir", ws.file("cache", "mine")], "cache"),
    # -- ensemble ---------------------------------------------------------------------------------------------------
    Case("ensemble-vote-bogus", lambda ws: ensemble(ws, "--vote", "bogus"), "vote"),
    Case("ensemble-best-0", lambda ws: ensemble(ws, "--best", 0), "--best 0"),
    Case("ensemble-best-too-many", lambda ws: ensemble(ws, "--best", 5), "--best 5"),
    Case(
        "ensemble-member-missing",
        lambda ws: ["ensemble", ws.run("mlp"), ws.root / "nowhere", "--out", ws.root / "e"],
        "nowhere",
    ),
    Case(
        "ensemble-member-damaged",
        lambda ws: ["ensemble", ws.run("mlp"), ws.truncated("tree", "pipeline.skops"), "--out", ws.root / "e"],
        "changed since",
    ),
    Case(
        "ensemble-other-data",
        lambda ws: [
            "ensemble",
            ws.run("mlp"),
            ws.edited("tree", lambda m: m["data"].update(fingerprint="0" * 16)),
            "--out",
            ws.root / "e",
        ],
        "data",
    ),
    Case(
        "ensemble-out-existing",
        lambda ws: given(ws.run("teacher"), ensemble(ws, out="runs/teacher")),
        "already exists",
    ),
    Case("ensemble-out-is-a-member", lambda ws: ensemble(ws, "--overwrite", out="runs/mlp"), "member"),
    Case(
        "ensemble-overwrite-foreign",
        lambda ws: given(ws.file("photos/cat.jpg", "meow"), ensemble(ws, "--overwrite", out="photos")),
        "not a kdedge folder",
    ),
]
