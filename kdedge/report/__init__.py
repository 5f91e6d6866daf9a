"""Reports: one self-contained HTML page from bench JSON files, run manifests and sweep tables under a folder.

Figures come from the files `kdedge bench --out`, `kdedge run` and `kdedge sweep` wrote; an exported run none of
them measured is benched by the report (briefly, batch 1) and its figures say so, so every run is on the page.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from .._io import atomic_path
from ..errors import RunError
from ..runs import now
from .collect import collect
from .measured import Measured, Model, measured, runs_measured
from .on_demand import bench_missing, unmeasured
from .plots import Point, pareto_front, png_bytes, scatter_figure

__all__ = ["build_report", "collect", "pareto_front"]


def figures_and_fronts(data: Measured) -> tuple[list[tuple[str, bytes]], dict[str, list[Model]], str]:
    """(captioned PNGs, the front of each figure by name, a note on numbers left off the plots): accuracy vs
    size over all models, and accuracy vs p50 once per measurement group."""
    by_number = {m.number: m for m in data.models}

    def pts(cost) -> list[Point]:
        return [
            Point(m.label, m.kind, m.accuracy, cost(m), m.number)
            for m in data.models
            if m.accuracy is not None and cost(m) is not None
        ]

    figures, fronts, skipped = [], {}, 0
    several = len(data.groups) > 1
    panels = [
        (
            f"latency {g.id}" if several else "latency",
            pts(lambda m, g=g: m.p50_us.get(g.id)),
            "p50 latency (µs)",
            f"accuracy vs p50 latency{f', group {g.id}' if several else ''}: {g.data}",
            f"test accuracy vs p50 latency{f', group {g.id}' if several else ''}: {g.text}",
        )
        for g in data.groups
    ]
    datasets = sorted({m.data for m in data.models})
    for name in datasets:
        panels.append(
            (
                f"size {name}" if len(datasets) > 1 else "size",
                pts(lambda m, name=name: m.size_kb if m.data == name else None),
                "size (KB; C rows: Cortex-M flash)",
                f"accuracy vs size: {name}",
                f"test accuracy vs model size: {name} test split",
            )
        )
    for name, points_, xlabel, title, caption in panels:
        if not points_:
            continue
        fig, left_off = scatter_figure(points_, xlabel, title)
        figures.append((caption, png_bytes(fig)))
        fronts[name] = [by_number[p.number] for p in pareto_front(points_)]
        skipped = max(skipped, left_off)
    note = (
        f"Points are numbered as in the table below; up to {skipped} number(s) per figure are left off where they "
        "would overlap others."
        if skipped
        else "Points are numbered as in the table below."
    )
    return figures, fronts, note


def models_table(data: Measured, fronts: dict[str, list[Model]]) -> str:
    """One row per plotted model: its number, figures per group, where they come from, and the fronts it is on."""
    from .html import _fmt, _table

    several = len(data.groups) > 1
    on = {name: {m.number for m in front} for name, front in fronts.items()}
    header = ["#", "model", "kind", "family", "data", "acc %", "size KB"]
    header += [f"p50 µs{f' [{g.id}]' if several else ''}" for g in data.groups] + ["Pareto front", "figures from"]
    rows, classes = [], []
    for m in data.models:
        marks = [name for name, numbers in on.items() if m.number in numbers]
        rows.append(
            [str(m.number), escape(m.label), m.kind, escape(m.family or "?"), escape(m.data)]
            + [_fmt(m.accuracy, ".2f"), _fmt(m.size_kb, ".1f")]
            + [_fmt(m.p50_us.get(g.id), ".1f") for g in data.groups]
            + ["★ " + ", ".join(marks) if marks else "", escape("; ".join(m.sources))]
        )
        classes.append("front" if marks else "")
    groups = "".join(f"<li>{g.id}: {escape(g.text)}</li>" for g in data.groups)
    legend = f'<p class="note">latency groups (never mixed in one plot):</p><ul class="note">{groups}</ul>'
    return _table(header, rows, "Models in the figures", left=2, classes=classes) + (legend if several else "")


def build_report(root, out, selection=None, bench_seconds: float | None = 0.3) -> dict:
    """Write the report page for everything under `root` (or the `selection` of it) to `out`; returns what it
    holds. Exported runs no bench file covers are benched here, `bench_seconds` each (None: left out, said so)."""
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
    # oldest first: a model benched again keeps its newest figures
    files = sorted(found.benches, key=lambda b: b.path.stat().st_mtime)
    missing, not_exported = unmeasured(found.runs, runs_measured(found, files))
    notes = []
    if missing and bench_seconds is not None:
        extra, failed = bench_missing(missing, bench_seconds)
        notes += failed
        if extra is not None:
            found.benches.append(extra)
            files.append(extra)
    elif missing:
        notes.append(
            f"{len(missing)} exported run(s) not in the figures: no bench file has them and on-demand benching is "
            f"off (--no-bench-missing): {', '.join(r.label for r in missing)}"
        )
    if not_exported:
        notes.append(
            f"{len(not_exported)} run(s) not in the figures, not exported (kdedge export RUN): "
            + ", ".join(not_exported)
        )
    data = measured(found, files)
    figures, fronts, numbers_note = figures_and_fronts(data)
    front_html = f'<p class="note">{escape(numbers_note)}</p>' + models_table(data, fronts) if data.models else ""
    front_html += "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
    html = page(found, figures, front_html, now())
    with atomic_path(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return {
        "out": str(out),
        "runs": [str(r.path) for r in found.runs],
        "bench_results": [str(b.path) for b in found.benches if b.path is not None],
        "sweeps": [str(s.path) for s in found.sweeps],
        "benched_by_report": [r.label for r in missing if bench_seconds is not None and _measured(r.label, data)],
        "not_in_figures": [*not_exported, *(r.label for r in missing if not _measured(r.label, data))],
        "models": [{"number": m.number, "label": m.label, "run": m.run} for m in data.models],
        "groups": {g.id: g.text for g in data.groups},
        "devices": sorted({d.device for d in found.devices}),
        "figures": [title for title, _ in figures],
        "fronts": {name: [m.label for m in front] for name, front in fronts.items()},
        "notes": notes,
    }


def _measured(label: str, data: Measured) -> bool:
    return any(m.run == label for m in data.models)
