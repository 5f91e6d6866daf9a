"""What a search tried and what won per family under its budget, with the `kdedge distill` line that trains each
winner again (`kdedge recommend OUT`, `kdedge search --explain`)."""

from __future__ import annotations

import shlex
from pathlib import Path

from .space import Candidate

STATES = ("COMPLETE", "PRUNED", "FAIL")


def candidate_of(params: dict) -> Candidate:
    """The point of the space a trial drew, from its Optuna params ("family", "mlp.method", "mlp.hidden"...)."""
    family = params["family"]
    prefix = f"{family}."
    drawn = {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
    method, transfer = drawn.pop("method", "kd"), drawn.pop("transfer", "train")
    return Candidate(family, method, transfer, drawn)


def command_line(config, cand: Candidate, epochs: int | None) -> str:
    """The `kdedge distill` command that trains this candidate as the trial did (same teacher, data and seed)."""
    from ..options import flag

    words = ["kdedge", "distill", "--teacher", config.teacher]
    if config.data:
        words += ["--data", config.data]
    words += ["--student", cand.family, "--method", cand.method, "--transfer", cand.transfer]
    options = dict(cand.options)
    if epochs is not None:
        options.setdefault("epochs", epochs)
    for key, value in options.items():
        words += [flag(key), str(value)]
    words += ["--seed", str(config.seed), "--out", f"runs/{cand.family}"]
    return shlex.join(words)


def explain(out: Path) -> list[dict]:
    """One row per family the search drew: trials by state, the best inside the budget (on val) with its figures,
    and the command line that reproduces it."""
    from ..students import student_class
    from .budget import Budget
    from .study import OBJECTIVES, _study, read_config

    config = read_config(Path(out))
    budget, judged_by = Budget(**config.budget), OBJECTIVES[config.objective]
    by_family: dict[str, list] = {}
    for t in _study(Path(out), config).get_trials(deepcopy=False):
        if "family" in t.params:
            by_family.setdefault(t.params["family"], []).append(t)
    rows = []
    for family, trials in by_family.items():
        counts = {state.lower(): sum(t.state.name == state for t in trials) for state in STATES}
        fitting = [
            t for t in trials if t.state.name == "COMPLETE" and not budget.broken(t.user_attrs.get("figures", {}))
        ]
        row = {"family": family, "tried": len(trials), **counts, "best": None}
        if fitting:
            best = max(fitting, key=lambda t: t.user_attrs["figures"][judged_by])
            epochs = config.max_epochs if student_class(family).neural else None
            row["best"] = {
                "trial": best.number,
                "settings": best.user_attrs.get("settings"),
                **{k: best.user_attrs["figures"].get(k) for k in ("val_accuracy", "agreement", "p50_us", "size_kb")},
                "command": command_line(config, candidate_of(best.params), epochs),
            }
        rows.append(row)
    return sorted(rows, key=lambda r: -(r["best"] or {}).get("val_accuracy", -1))
