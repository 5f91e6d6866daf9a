"""The search's results: a Pareto table (CSV + Markdown), an accuracy-vs-cost plot, and a no-fit message.

The Pareto front is computed once, here (`mark_front`): the completed trials inside every budget that no other such
trial beats on the judged figure, p50 and size together. The table's stars and the plot's stars are that one list,
so a trial breaking a budget is never on the front.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .budget import BUDGETS, Budget

COLUMNS = (
    "trial",
    "family",
    "val_accuracy",
    "agreement",
    "p50_us",
    "size_kb",
    "memory_mb",
    "flash_kb",
    "ram_kb",
    "n_params",
    "fits",
    "pareto",
    "settings",
)
HEADERS = {
    "val_accuracy": "val acc %",
    "agreement": "agree %",
    "p50_us": "p50 µs",
    "size_kb": "size KB",
    "memory_mb": "mem MB",
    "flash_kb": "flash KB",
    "ram_kb": "RAM KB",
    "n_params": "params",
    "fits": "fits budget",
    "pareto": "Pareto",
}


def costs(rows: list[dict]) -> tuple[str, str]:
    """The two costs a trial is judged on besides its objective (the study's 2nd and 3rd objectives): p50, and
    Cortex-M4 flash where every completed trial has it (a C search), else the ONNX file size."""
    done = [r for r in rows if r["state"] == "COMPLETE"]
    return (
        ("p50_us", "flash_kb") if done and all(r.get("flash_kb") is not None for r in done) else ("p50_us", "size_kb")
    )


AXIS_WORDS = {
    "val_accuracy": "validation accuracy, %",
    "agreement": "agreement with the teacher (val), %",
    "p50_us": "batch-1 p50 latency, µs",
    "size_kb": "size, KB",
    "memory_mb": "memory above an empty process, MB",
    "flash_kb": "Cortex-M4 flash, KB",
    "ram_kb": "Cortex-M4 RAM (data+bss+stack), KB",
}
PERCENT = ("val_accuracy", "agreement")


def trial_rows(study, budget: Budget, judged_by: str = "val_accuracy") -> list[dict]:
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
                "broken": budget.broken(figures) if figures else [],
                "reason": t.user_attrs.get("reason"),
                **figures,
            }
        )
    mark_front(rows, judged_by)
    return rows


def mark_front(rows: list[dict], judged_by: str = "val_accuracy") -> list[dict]:
    """Set row["pareto"] and return the front: completed trials inside the budget that no other such trial
    dominates (at least as good on `judged_by` up and every cost down, better on one)."""
    fitting = [r for r in rows if r["state"] == "COMPLETE" and not r["broken"]]

    judged_on = costs(rows)

    def key(r):
        return (-r[judged_by], *(r[c] for c in judged_on))

    def dominates(a, b) -> bool:
        ka, kb = key(a), key(b)
        return all(x <= y for x, y in zip(ka, kb, strict=True)) and ka != kb

    front = [r for r in fitting if not any(dominates(other, r) for other in fitting)]
    chosen = {r["trial"] for r in front}
    for r in rows:
        r["pareto"] = r["trial"] in chosen
    return sorted(front, key=lambda r: r["p50_us"])


def _cell(row: dict, key: str) -> str:
    value = row.get(key)
    if key == "fits":
        return "" if row["state"] != "COMPLETE" else ("yes" if not row["broken"] else "no: " + "; ".join(row["broken"]))
    if key == "pareto":
        return "★" if row["pareto"] else ""
    if value is None:
        return "—"
    if key in PERCENT:
        return f"{100 * value:.2f}"
    if isinstance(value, float):  # three significant digits below 10 (a C tree's p50 is 0.06 µs)
        return f"{value:.1f}" if value >= 10 else f"{value:.3g}" if key != "memory_mb" else f"{value:.2f}"
    return str(value)


def write_tables(out: Path, rows: list[dict], budget: Budget) -> None:
    done = sorted((r for r in rows if r["state"] == "COMPLETE"), key=lambda r: (-r["val_accuracy"], r["p50_us"]))
    with open(out / "pareto.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for r in done:
            writer.writerow([_cell(r, c) for c in COLUMNS])
    # columns no trial measured (memory under --target c, flash without it) are left out of the Markdown
    shown = [c for c in COLUMNS if c in ("trial", "family", "fits", "pareto", "settings") or _measured(done, c)]
    header = [HEADERS.get(c, c) for c in shown]
    cost_words = " and ".join(HEADERS[c].split()[0] for c in costs(rows))
    lines = [
        f"Budget: {budget.words()}. Figures on the validation split; ★ = Pareto front: the trials inside the "
        f"budget that no other such trial beats on accuracy, {cost_words} together (the stars of pareto.png).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
    ]
    lines += ["| " + " | ".join(_cell(r, c) for c in shown) + " |" for r in done]
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


def _measured(rows: list[dict], column: str) -> bool:
    return any(r.get(column) is not None for r in rows)


def panels(rows: list[dict], budget: Budget, judged_by: str) -> list[tuple[str, str]]:
    """(x figure, y figure) per panel: the judged figure against p50 and size, against each other budgeted
    cost, and a budgeted floor on a figure that is not the judged one (agreement) against p50."""
    judged_on = costs(rows)
    out = [(cost, judged_by) for cost in judged_on]
    for kind, _ in budget.kinds():
        if kind.bound == "max" and kind.figure not in judged_on and _measured(rows, kind.figure):
            out.append((kind.figure, judged_by))
        elif kind.bound == "min" and kind.figure != judged_by:
            out.append(("p50_us", kind.figure))
    return out


FAMILY_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "h")


def plot(path: Path, rows: list[dict], budget: Budget, judged_by: str = "val_accuracy") -> dict:
    """pareto.png; returns what it shows (title, panels, the starred trials) for the tests and the summary."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from ..report.plots import place_labels, plain_log_axis

    done = [r for r in rows if r["state"] == "COMPLETE"]
    front = [r for r in done if r["pareto"]]
    chosen = panels(done, budget, judged_by)
    columns = min(len(chosen), 2)
    lines = (len(chosen) + columns - 1) // columns
    fig = Figure(figsize=(6 * columns, 4.2 * lines + 0.9), dpi=110)
    FigureCanvasAgg(fig)
    families = sorted({r["family"] for r in done})
    marker = {f: FAMILY_MARKERS[i % len(FAMILY_MARKERS)] for i, f in enumerate(families)}
    limits = {kind.figure: (kind, value) for kind, value in budget.kinds()}
    in_c = costs(done)[1] == "flash_kb"  # a C search: p50 timed in C, sizes on a Cortex-M4
    title = (
        f"kdedge search{' (C exports)' if in_c else ''}: {AXIS_WORDS[judged_by].split(',')[0]} against cost, "
        f"{len(done)} completed trial(s); budget: {budget.words()}"
    )
    fig.suptitle(title, fontsize=10)
    axes = []
    for i, (x, y) in enumerate(chosen):
        ax = fig.add_subplot(lines, columns, i + 1)
        axes.append(ax)
        pts = [r for r in done if r.get(x) is not None and r.get(y) is not None]
        scale = 100 if y in PERCENT else 1
        for r in pts:
            ax.scatter(r[x], scale * r[y], marker=marker[r["family"]], s=30, zorder=2,
                       c="tab:green" if not r["broken"] else "tab:gray", alpha=0.85)  # fmt: skip
        on_front = [r for r in pts if r["pareto"]]
        ax.scatter([r[x] for r in on_front], [scale * r[y] for r in on_front], marker="*", s=170,
                   facecolors="none", edgecolors="tab:red", lw=1.2, zorder=3)  # fmt: skip
        xs = [r[x] for r in pts] + ([limits[x][1]] if x in limits else [])
        if xs and min(xs) > 0 and max(xs) / min(xs) > 20:
            ax.set_xscale("log")
        if xs:
            ax.set_xlim(*_padded(xs, ax.get_xscale() == "log"))
        ys = [scale * r[y] for r in pts] + ([scale * limits[y][1]] if y in limits else [])
        if ys:
            ax.set_ylim(*_padded(ys, False, 0.06))
        _shade(ax, x, y, limits, scale)
        words = AXIS_WORDS.get(x, x) + (" (timed in C)" if in_c and x == "p50_us" else "")
        ax.set_xlabel(words + (" (log)" if ax.get_xscale() == "log" else ""), fontsize=8)
        ax.set_ylabel(AXIS_WORDS.get(y, y), fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
    handles = [
        Line2D([], [], ls="", marker="o", color="tab:green", label="fits budget"),
        Line2D([], [], ls="", marker="o", color="tab:gray", label="breaks budget"),
        Line2D([], [], ls="", marker="*", mfc="none", mec="tab:red", ms=12, label="Pareto front (★ in pareto.md)"),
    ]
    handles += [Line2D([], [], ls="", marker=marker[f], color="black", mfc="none", label=f) for f in families]
    handles += [Line2D([], [], color="tab:green", alpha=0.25, lw=8, label="inside the budget")] if limits else []
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    for ax, (x, y) in zip(axes, chosen, strict=True):
        ax.set_xlim(ax.get_xlim()), ax.set_ylim(ax.get_ylim())
        if ax.get_xscale() == "log":
            plain_log_axis(ax.xaxis)
        scale = 100 if y in PERCENT else 1
        pts = sorted((r for r in done if r.get(x) is not None and r.get(y) is not None), key=lambda r: not r["pareto"])
        place_labels(fig, ax, [(r[x], scale * r[y], str(r["trial"])) for r in pts], fontsize=6.5)
    fig.savefig(path)
    return {"title": title, "panels": chosen, "front": sorted(r["trial"] for r in front)}


def _padded(values: list[float], log: bool, share: float = 0.08) -> tuple[float, float]:
    low, high = min(values), max(values)
    if log:
        pad = (high / low) ** share
        return low / pad, high * pad
    pad = share * (high - low or abs(high) or 1)
    return low - pad, high + pad


def _shade(ax, x: str, y: str, limits: dict, scale: float) -> None:
    """The part of the panel inside the budgets on its axes, shaded, with a dashed line at each limit."""
    x_low, x_high = ax.get_xlim()
    y_low, y_high = ax.get_ylim()
    if x in limits:
        kind, value = limits[x]
        x_low, x_high = (x_low, value) if kind.bound == "max" else (value, x_high)
        ax.axvline(value, color="tab:green", ls="--", lw=0.8)
    if y in limits:
        kind, value = limits[y]
        y_low, y_high = (y_low, scale * value) if kind.bound == "max" else (scale * value, y_high)
        ax.axhline(scale * value, color="tab:green", ls="--", lw=0.8)
    if x in limits or y in limits:
        ax.fill_between([x_low, x_high], y_low, y_high, color="tab:green", alpha=0.08, lw=0, zorder=0)


def closest_message(rows: list[dict], budget: Budget) -> str:
    done = [r for r in rows if r["state"] == "COMPLETE"]
    if not done:
        return "no trial completed; see the trial messages above, or widen the space / raise --trials"
    closest = sorted(done, key=budget.overshoot)[:3]
    parts = [f"trial {r['trial']} ({r['family']}): {', '.join(r['broken'])}" for r in closest]
    return f"no trial fits the budget {budget.words()}; closest: " + " | ".join(parts)


__all__ = ["BUDGETS", "COLUMNS", "closest_message", "mark_front", "plot", "trial_rows", "write_tables"]
