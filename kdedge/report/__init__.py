"""Reports: one self-contained HTML page from bench JSON files, run manifests and sweep tables under a folder.

Nothing is measured again: every figure comes from files that `kdedge bench --json`, `kdedge run` and
`kdedge sweep` wrote.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from .._io import atomic_path
from ..errors import RunError
from ..runs import now
from .collect import Collection, collect
from .plots import Point, pareto_front, scatter_png

__all__ = ["build_report", "collect", "pareto_front", "points"]


def points(found: Collection) -> tuple[list[Point], list[Point]]:
    """(accuracy vs p50 µs, accuracy vs size KB) for every benched model with an accuracy."""
    by_latency, by_size = [], []
    several = len(found.benches) > 1
    for b in found.benches:
        for row in b.result["rows"]:
            if row.get("kind") == "floor" or row.get("accuracy") is None:
                continue
            label = f"{b.label}/{row['name']}" if several else row["name"]
            kind = "teacher" if row["kind"] == "teacher" else "student"
            accuracy = 100 * row["accuracy"]
            by_latency.append(Point(label, kind, accuracy, row["latency"]["p50_us"]))
            if row.get("size_kb") is not None:
                by_size.append(Point(label, kind, accuracy, row["size_kb"]))
    return by_latency, by_size


def _front_table(latency: list[Point], size: list[Point]) -> str:
    from .html import _table

    parts = []
    for title, pts, unit in (("p50 latency", latency, "p50 µs"), ("size", size, "size KB")):
        front = pareto_front(pts)
        if front:
            rows = [[escape(p.label), escape(p.kind), f"{p.accuracy:.2f}", f"{p.cost:.1f}"] for p in front]
            parts.append(_table(["model", "kind", "acc %", unit], rows, f"Pareto front: accuracy vs {title}", left=2))
    return "".join(parts)


def build_report(root, out, selection=None) -> dict:
    """Write the report page for everything under `root` (or the `selection` of it) to `out`; returns what it
    holds."""
    from .html import page

    root, out = Path(root), Path(out)
    if not root.is_dir():
        raise RunError(f"{root}: no such folder; pass the folder holding your runs (e.g. runs/)")
    found = collect(root, selection)
    if not (found.runs or found.benches or found.sweeps):  # device figures live in runs
        which = "match --include/--exclude there" if selection and (selection.include or selection.exclude) else "found"
        raise RunError(
            f"{root}: no runs, bench results or sweeps {which}; make some with kdedge run, or kdedge bench --out FILE"
        )
    latency, size = points(found)
    figures = []
    if latency:
        figures.append(
            ("test accuracy vs p50 latency", scatter_png(latency, "p50 latency (µs)", "accuracy vs latency"))
        )
    if size:
        figures.append(("test accuracy vs ONNX file size", scatter_png(size, "ONNX size (KB)", "accuracy vs size")))
    html = page(found, figures, _front_table(latency, size), now())
    with atomic_path(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return {
        "out": str(out),
        "runs": [str(r.path) for r in found.runs],
        "bench_results": [str(b.path) for b in found.benches],
        "sweeps": [str(s.path) for s in found.sweeps],
        "devices": sorted({d.device for d in found.devices}),
        "figures": [title for title, _ in figures],
        "pareto_latency": [p.label for p in pareto_front(latency)],
        "pareto_size": [p.label for p in pareto_front(size)],
    }
