"""Accuracy vs cost scatter plots with the Pareto front marked, as PNG bytes (matplotlib's Agg canvas, no pyplot).

Points carry numbers, not names: with dozens of runs, names pile up. The page's table maps each number to its
model; `place_labels` writes the numbers where they overlap nothing (front points first) and skips the rest.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from ..params import pareto_front as front_of


@dataclass
class Point:
    label: str
    kind: str  # teacher | student
    accuracy: float  # percent
    cost: float  # p50 µs or size KB
    number: int | None = None  # the model's number in the page's table


def pareto_front(points: list[Point]) -> list[Point]:
    """Points no other point beats on both axes (higher accuracy at lower or equal cost), cheapest first."""
    return front_of(points, cost=lambda p: p.cost, value=lambda p: p.accuracy)


def plain_log_axis(axis) -> None:
    """Tick labels of a log axis as plain numbers (`4`, `20`, `500`), never `4×10^0`: majors always, and minors
    where the axis spans too little for majors alone (all of them under ~half a decade, 2s and 5s under ~1.5)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    def plain(value, _pos=None) -> str:
        return f"{value:g}"

    low, high = sorted(axis.get_view_interval())
    span = high / low if low > 0 else math.inf
    axis.set_major_formatter(FuncFormatter(plain))
    if span < 3:
        axis.set_minor_formatter(FuncFormatter(plain))
    elif span < 30:

        def twos_and_fives(value, _pos=None) -> str:
            lead = round(value / 10 ** math.floor(math.log10(value)))
            return plain(value) if lead in (2, 5) else ""

        axis.set_minor_formatter(FuncFormatter(twos_and_fives))
    else:
        axis.set_minor_formatter(NullFormatter())


# where a label may go around its point, in points, tried in order: right, above, left, below, then diagonals
OFFSETS = ((5, -3), (-3, 6), (-5, -3), (-3, -12), (5, 5), (5, -11), (-5, 5), (-5, -11))


def place_labels(fig, ax, items: list[tuple[float, float, str]], fontsize: float = 7) -> int:
    """Annotate (x, y, text) items in order (first = most important) where the text overlaps no other label and
    no point, inside the axes; returns how many found no place (their numbers are only in the table)."""
    renderer = fig.canvas.get_renderer()
    to_pixels = ax.transData.transform
    points = [to_pixels((x, y)) for x, y, _ in items]
    frame = ax.get_window_extent(renderer)
    taken = []  # label boxes in pixels
    radius = 3.5 * fig.dpi / 72  # a marker's half width
    skipped = 0
    for x, y, text in items:
        placed = False
        for dx, dy in OFFSETS:
            note = ax.annotate(
                text, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=fontsize,
                ha="left" if dx > 0 else "right" if dx < 0 else "center", va="bottom" if dy > 0 else "top",
            )  # fmt: skip
            box = note.get_window_extent(renderer)
            clear = (
                frame.x0 <= box.x0
                and box.x1 <= frame.x1
                and frame.y0 <= box.y0
                and box.y1 <= frame.y1
                and not any(box.overlaps(other) for other in taken)
                and not any(
                    box.x0 - radius < qx < box.x1 + radius and box.y0 - radius < qy < box.y1 + radius
                    for qx, qy in points
                )
            )
            if clear:
                taken.append(box)
                placed = True
                break
            note.remove()
        skipped += not placed
    return skipped


def scatter_figure(points: list[Point], xlabel: str, title: str):
    """(the figure, how many numbers found no place on it)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.8), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    front = pareto_front(points)
    for kind, marker, color in (("student", "o", "#4c72b0"), ("teacher", "s", "#c44e52")):
        chosen = [p for p in points if p.kind == kind]
        if chosen:
            ax.scatter([p.cost for p in chosen], [p.accuracy for p in chosen], marker=marker, c=color, s=24,
                       alpha=0.7, label=kind, zorder=2)  # fmt: skip
    if front:
        ax.step([p.cost for p in front], [p.accuracy for p in front], where="post", color="#dd8452", lw=1.5,
                label="Pareto front", zorder=1)  # fmt: skip
        ax.scatter([p.cost for p in front], [p.accuracy for p in front], s=100, facecolors="none",
                   edgecolors="#dd8452", lw=1.5, zorder=3)  # fmt: skip
    costs = [p.cost for p in points if p.cost > 0]
    if costs and max(costs) / min(costs) > 20:  # sizes and latencies span orders of magnitude across families
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy %")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    ax.set_xlim(ax.get_xlim()), ax.set_ylim(ax.get_ylim())  # frozen: label places are computed in pixels
    if ax.get_xscale() == "log":
        plain_log_axis(ax.xaxis)
    on_front = {id(p) for p in front}
    ordered = [p for p in points if id(p) in on_front] + [p for p in points if id(p) not in on_front]
    skipped = place_labels(fig, ax, [(p.cost, p.accuracy, str(p.number or p.label)) for p in ordered])
    return fig, skipped


def png_bytes(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def scatter_png(points: list[Point], xlabel: str, title: str) -> bytes:
    return png_bytes(scatter_figure(points, xlabel, title)[0])
