"""The search's results: a Pareto table (CSV + Markdown), an accuracy-vs-latency plot, and a no-fit message."""

from __future__ import annotations

import csv
from pathlib import Path

from ..params import pareto_front
from .budget import Budget

COLUMNS = (
    "trial",
    "family",
    "val_accuracy",
    "agreement",
    "p50_us",
    "size_kb",
    "memory_mb",
    "n_params",
    "fits",
    "pareto",
    "settings",
)


def trial_rows(study) -> list[dict]:
    pareto = {t.number for t in study.best_trials}
    rows = []
    for t in study.trials:
        figures = t.user_attrs.get("figures", {})
        rows.append(
            {
                "trial": t.number,
                "state": t.state.name,
                "family": t.user_attrs.get("family", t.params.get("family", "")),
                "settings": t.user_attrs.get("settings", ""),
                "run": t.user_attrs.get("run"),
                "broken": t.user_attrs.get("broken", []),
                "reason": t.user_attrs.get("reason"),
                "pareto": t.number in pareto,
                **figures,
            }
        )
    return rows


def _cell(row: dict, key: str) -> str:
    value = row.get(key)
    if key == "fits":
        return "" if row["state"] != "COMPLETE" else ("yes" if not row["broken"] else "no: " + "; ".join(row["broken"]))
    if key == "pareto":
        return "★" if row["pareto"] else ""
    if value is None:
        return "—"
    if key in ("val_accuracy", "agreement"):
        return f"{100 * value:.2f}"
    if isinstance(value, float):
        return f"{value:.1f}" if key != "memory_mb" else f"{value:.2f}"
    return str(value)


def write_tables(out: Path, rows: list[dict], budget: Budget) -> None:
    done = sorted((r for r in rows if r["state"] == "COMPLETE"), key=lambda r: (-r["val_accuracy"], r["p50_us"]))
    with open(out / "pareto.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for r in done:
            writer.writerow([_cell(r, c) for c in COLUMNS])
    header = [
        "trial",
        "family",
        "val acc %",
        "agree %",
        "p50 µs",
        "size KB",
        "mem MB",
        "params",
        "fits budget",
        "Pareto",
        "settings",
    ]
    lines = [
        f"Budget: {budget.describe() or 'none'}. Figures on the validation split; ★ = Pareto front "
        "(accuracy up, p50 and size down).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
    ]
    lines += ["| " + " | ".join(_cell(r, c) for c in COLUMNS) + " |" for r in done]
    pruned = [r for r in rows if r["state"] != "COMPLETE"]
    if pruned:
        lines += [
            "",
            f"{len(pruned)} trial(s) not completed: "
            + "; ".join(
                f"{r['trial']} {r['state'].lower()}{': ' + r['reason'] if r.get('reason') else ''}" for r in pruned
            ),
        ]
    (out / "pareto.md").write_text("\n".join(lines) + "\n")


def latency_front(rows: list[dict]) -> list[dict]:
    """The trials no other beats on both axes of the plot (higher accuracy and lower p50), by latency."""
    return pareto_front(rows, cost=lambda r: r["p50_us"], value=lambda r: r["val_accuracy"])


def plot(path: Path, rows: list[dict], budget: Budget) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in rows if r["state"] == "COMPLETE"]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    ax.set_xscale("log")
    if done:
        p50s = [r["p50_us"] for r in done]
        low, high = min(p50s) / 1.25, max(p50s) * 1.25
        if budget.max_latency_us:
            low, high = min(low, budget.max_latency_us / 1.25), max(high, budget.max_latency_us * 1.25)
        ax.set_xlim(low, high)
        if budget.max_latency_us:
            ax.axvspan(
                low, budget.max_latency_us, color="tab:green", alpha=0.08, label=f"p50 ≤ {budget.max_latency_us:g} µs"
            )
    for fits, style in (
        (True, dict(c="tab:green", label="fits budget")),
        (False, dict(c="tab:gray", label="breaks budget")),
    ):
        pts = [r for r in done if (not r["broken"]) == fits]
        ax.scatter([r["p50_us"] for r in pts], [100 * r["val_accuracy"] for r in pts], s=22, alpha=0.8, **style)
    front = latency_front(done)
    if front:
        ax.step(
            [r["p50_us"] for r in front],
            [100 * r["val_accuracy"] for r in front],
            "r--",
            where="post",
            lw=1,
            label="Pareto front (accuracy vs p50)",
        )
    for r in done:
        ax.annotate(r["family"], (r["p50_us"], 100 * r["val_accuracy"]), fontsize=6, alpha=0.7)
    ax.set_xlabel("batch-1 p50 latency, µs (log)")
    ax.set_ylabel("validation accuracy, %")
    ax.set_title(f"kdedge search: accuracy vs latency (budget: {budget.describe() or 'none'})", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def closest_message(rows: list[dict], budget: Budget) -> str:
    done = [r for r in rows if r["state"] == "COMPLETE"]
    if not done:
        return "no trial completed; see the trial messages above, or widen the space / raise --trials"

    def badness(r):  # relative overshoot summed over the budgets a trial breaks
        limits = {
            "p50 µs": budget.max_latency_us,
            "size KB": budget.max_size_kb,
            "memory MB": budget.max_memory_mb,
            "agreement": budget.min_agreement,
        }
        return sum(max(0.0, v) / limits[name] for name, v in budget.violations(r).items())

    closest = sorted(done, key=badness)[:3]
    parts = [f"trial {r['trial']} ({r['family']}): {', '.join(r['broken'])}" for r in closest]
    return f"no trial fits the budget {budget.describe()}; closest: " + " | ".join(parts)
