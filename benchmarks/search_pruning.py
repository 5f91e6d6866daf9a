"""`kdedge search --time-budget` with and without pruning, side by side: the same teacher, seed, space and budget.

    .venv/bin/python benchmarks/search_pruning.py --teacher runs/ds-teacher --budget 30m --max-size-kb 256 \\
        --out benchmarks/results/search_pruning.md

Each search is one `kdedge search` command as a user types it (the pruned one first, then `--no-prune`), run one
after the other on the same machine. From each study (OUT/study.db): the best val accuracy among finished trials
inside the budget, when it was first reached (seconds after the search's first trial started), the trials
finished / pruned, the wall time against the budget, and the winner's test accuracy (measured once, by the search).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _report import emit  # noqa: E402

KDEDGE = str(Path(sys.executable).with_name("kdedge"))


def run_search(args, out: Path, prune: bool) -> float:
    command = [KDEDGE, "search", "--teacher", str(args.teacher), "--time-budget", args.budget, "--seed", str(args.seed),
               "--max-size-kb", str(args.max_size_kb), "--out", str(out), "--overwrite", "--json",
               "--prune" if prune else "--no-prune", *args.extra]  # fmt: skip
    if args.data:
        command += ["--data", args.data]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def timeline(out: Path) -> dict:
    import optuna

    from kdedge.budget_search.study import STUDY_NAME, _storage

    trials = optuna.load_study(study_name=STUDY_NAME, storage=_storage(out)).trials
    t0 = min(t.datetime_start for t in trials if t.datetime_start is not None)
    fitting = sorted(
        (t for t in trials if t.state.name == "COMPLETE" and not t.user_attrs.get("broken")),
        key=lambda t: t.datetime_complete,
    )
    curve, best = [], -1.0
    for t in fitting:
        if t.values[0] > best:
            best = t.values[0]
            curve.append(((t.datetime_complete - t0).total_seconds(), best, t.number))
    summary = json.loads((out / "summary.json").read_text())
    test = next(r for r in summary["test"]["rows"] if r["name"] == "best")
    return {
        "curve": curve,
        "best": best,
        "finished": len(fitting),
        "pruned": sum(t.state.name == "PRUNED" for t in trials),
        "trials": len(trials),
        "winner": summary["best"]["settings"],
        "test_accuracy": test["accuracy"],
        "size_kb": test.get("size_kb"),
    }


def first_reaching(curve, level: float) -> float | None:
    return next((seconds for seconds, value, _ in curve if value >= level), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, required=True)
    parser.add_argument("--data", default=None)
    parser.add_argument("--budget", default="30m")
    parser.add_argument("--max-size-kb", type=float, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=Path, default=Path("runs/search-pruning"))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("extra", nargs="*", help="more `kdedge search` options, after --")
    args = parser.parse_args()
    walls, found = {}, {}
    for name, prune in (("pruned", True), ("not pruned", False)):
        out = args.runs / name.replace(" ", "-")
        walls[name] = run_search(args, out, prune)
        found[name] = timeline(out)
    reference = min(found["pruned"]["best"], found["not pruned"]["best"])
    lines = [
        "# `kdedge search --time-budget`, with and without pruning",
        "",
        f"`{' '.join(sys.argv)}` on {platform.machine()} ({platform.node()}), "
        f"{time.strftime('%Y-%m-%d')}. Budget {args.budget}, `--max-size-kb {args.max_size_kb:g}`, seed {args.seed}.",
        "",
        "| search | trials (finished / pruned) | best val acc | first reached at | reached "
        f"{100 * reference:.2f} % at | winner's test acc | wall time |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, f in found.items():
        at_best = first_reaching(f["curve"], f["best"])
        at_ref = first_reaching(f["curve"], reference)
        lines.append(
            f"| {name} | {f['trials']} ({f['finished']} / {f['pruned']}) | {100 * f['best']:.2f} % | {at_best:.0f} s | "
            f"{at_ref:.0f} s | {100 * f['test_accuracy']:.2f} % ({f['size_kb']:.1f} KB) | {walls[name]:.0f} s |"
        )
    lines += ["", "Winners: " + "; ".join(f"{n}: {f['winner']}" for n, f in found.items()), ""]
    lines += ["Best-so-far curves (seconds, val acc, trial):", ""]
    lines += [
        f"- {n}: " + ", ".join(f"{s:.0f} s {100 * v:.2f} % (#{k})" for s, v, k in f["curve"]) for n, f in found.items()
    ]
    emit("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
