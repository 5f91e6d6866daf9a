"""Accuracy vs cost scatter plots with the Pareto front marked, as PNG bytes (matplotlib's Agg canvas, no pyplot)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from ..params import pareto_front as front_of


@dataclass
class Point:
    label: str
    kind: str  # teacher | student
    accuracy: float  # percent
    cost: float  # p50 µs or size KB


def pareto_front(points: list[Point]) -> list[Point]:
    """Points no other point beats on both axes (higher accuracy at lower or equal cost), cheapest first."""
    return front_of(points, cost=lambda p: p.cost, value=lambda p: p.accuracy)


def scatter_png(points: list[Point], xlabel: str, title: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.8), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    front = pareto_front(points)
    for kind, marker, color in (("student", "o", "#4c72b0"), ("teacher", "s", "#c44e52")):
        chosen = [p for p in points if p.kind == kind]
        if chosen:
            ax.scatter([p.cost for p in chosen], [p.accuracy for p in chosen], marker=marker, c=color, s=30,
                       alpha=0.75, label=kind, zorder=2)  # fmt: skip
    if front:
        ax.step([p.cost for p in front], [p.accuracy for p in front], where="post", color="#dd8452", lw=1.5,
                label="Pareto front", zorder=1)  # fmt: skip
        ax.scatter([p.cost for p in front], [p.accuracy for p in front], s=110, facecolors="none",
                   edgecolors="#dd8452", lw=1.5, zorder=3)  # fmt: skip
        for p in front:
            ax.annotate(p.label, (p.cost, p.accuracy), textcoords="offset points", xytext=(6, -10), fontsize=7)
    costs = [p.cost for p in points if p.cost > 0]
    if costs and max(costs) / min(costs) > 20:  # sizes and latencies span orders of magnitude across families
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy %")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
