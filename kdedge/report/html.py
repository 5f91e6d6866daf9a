"""One self-contained HTML page: figures inline as base64 PNG, tables, recipes and versions. Escapes all text."""

from __future__ import annotations

import base64
import json
from html import escape

from .collect import Collection

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
img { max-width: 100%; border: 1px solid #eee; } .figs { display: flex; flex-wrap: wrap; gap: 1em; }
figure { flex: 1 1 45%; margin: 0; min-width: 320px; } figcaption { font-size: 0.85em; color: #444; }
.note { color: #666; font-size: 0.85em; } tr.front td { background: #fff4e8; }
"""


def _fmt(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _table(header: list[str], rows: list[list[str]], caption: str = "", left: int = 1, classes=None) -> str:
    def cells(values, tag):
        return "".join(f"<{tag}{' class=l' if i < left else ''}>{v}</{tag}>" for i, v in enumerate(values))

    body = "".join(
        f"<tr{f' class={classes[i]}' if classes and classes[i] else ''}>{cells(r, 'td')}</tr>"
        for i, r in enumerate(rows)
    )
    cap = f"<caption>{caption}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{cells(header, 'th')}</tr></thead><tbody>{body}</tbody></table>"


def image(png: bytes, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def bench_section(found: Collection) -> str:
    """Each bench result with the bench table's key columns (one registry, so the figures match the terminal)."""
    from ..measure.load import busy_warning
    from ..table import COLUMNS, key_columns, legend, title

    columns = key_columns()
    parts = []
    for b in found.benches:
        r = b.result
        header = [escape(COLUMNS[name].header).replace("\n", "<br>") for name in columns]
        rows = [[escape(COLUMNS[name].cell(row)) for name in columns] for row in r["rows"]]
        notes = [*r.get("notes", [])]
        lines = [f'<p class="note">{escape(legend(r, columns))}</p>']
        lines += [f'<p class="note">note: {escape(n)}</p>' for n in notes]
        warning = busy_warning(r)
        if warning:
            lines.append(f'<p class="note">{escape(warning)}</p>')
        caption = escape(f"{b.label}: {title(r)}")
        parts.append(_table(header, rows, caption, left=3) + "".join(lines))
    return "".join(parts) or '<p class="note">no bench results found</p>'


def devices_section(found: Collection) -> str:
    """One table per board (`bench --on`): every run's rows measured there, with the bench table's key columns;
    rows whose graph was exported again after the board measured it are flagged."""
    from ..measure.board.devices import changed_since
    from ..table import COLUMNS, key_columns, title

    columns = key_columns()
    by_device: dict[str, list] = {}
    for figures in found.devices:
        by_device.setdefault(figures.device, []).append(figures)
    parts = []
    for device, records in by_device.items():
        header = ["run", *(escape(COLUMNS[name].header).replace("\n", "<br>") for name in columns)]
        rows, notes = [], []
        for figures in records:
            stale = changed_since(figures.record, figures.run)
            for row in figures.record["rows"]:
                if row.get("kind") == "floor":
                    continue
                cells = [escape(COLUMNS[name].cell(row)) for name in columns]
                rows.append([escape(figures.label), *cells])
            notes += [
                f"{figures.label}: {name} was exported again after this board measured it; bench it there again"
                for name in stale
            ]
        newest = max(records, key=lambda f: f.record.get("measured_at", ""))
        caption = escape(f"{device}: {title(newest.record)} · measured {newest.record.get('measured_at', '?')}")
        lines = [f'<p class="note">note: {escape(n)}</p>' for n in notes]
        parts.append(_table(header, rows, caption, left=4) + "".join(lines))
    return "".join(parts) or '<p class="note">no figures from boards (kdedge bench RUN --on ssh://...)</p>'


def sweep_section(found: Collection) -> str:
    parts = []
    for s in found.sweeps:
        table = s.table
        if not table:
            parts.append(f"<p>{escape(s.label)}: no results yet</p>")
            continue
        keys = table["group_keys"]
        header = [*map(escape, keys), "model", "n", "acc %", "agree %", "p50 µs", "size KB"]
        rows = []
        for row in table["rows"]:
            cells = [escape(str(row.get(k))) for k in keys] + [escape(row["model"]), str(row["n"])]
            for column, digits in (("accuracy", 2), ("agreement", 2), ("p50_us", 1), ("size_kb", 1)):
                mean, std = row.get(f"{column}_mean"), row.get(f"{column}_std")
                cells.append(
                    "—" if mean is None else f"{mean:.{digits}f}" + ("" if std is None else f" ± {std:.{digits}f}")
                )
            rows.append(cells)
        grid = ", ".join(f"{k} = {v}" for k, v in s.plan.get("grid", []))
        caption = escape(f"{s.label}: sweep of {s.plan.get('recipe', {}).get('name', '?')} over {grid}")
        over = ", ".join(table.get("seed_keys", [])) or "nothing (one run per cell)"
        parts.append(
            _table(header, rows, caption, left=len(keys) + 1)
            + f'<p class="note">mean ± sample std over {escape(over)}</p>'
        )
    return "".join(parts) or '<p class="note">no sweeps found</p>'


def _versions(manifest: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in (manifest.get("versions") or {}).items())


def _key(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _transfer_text(transfer: dict) -> str:
    """`shift+mixup online`, `augment 5x`, `train`."""
    text = str(transfer.get("kind", "—"))
    if transfer.get("teacher_mode") == "online":
        return text + " online"
    size = transfer.get("transfer_size")
    return text + (f" {size:g}x" if isinstance(size, int | float) else "")


def runs_section(found: Collection) -> tuple[str, str]:
    """(the runs table, then each distinct recipe text and each distinct set of versions, referenced by the runs)."""
    recipes: dict[str, dict] = {}
    version_sets: dict[str, str] = {}
    header = ["run", "kind", "family", "method", "transfer", "teacher", "test acc %", "agree %", "val agree %"]
    header += ["val KL", "params"]
    header += ["recipe · overrides", "versions"]
    rows = []
    for run in found.runs:
        m = run.manifest
        metrics, method = m.get("metrics", {}), m.get("method") or {}
        recipe_cell = "—"
        if run.recipe and "text" in run.recipe:
            key = _key(run.recipe["text"])
            recipes.setdefault(key, run.recipe)
            overrides = " ".join(f"{k}={json.dumps(v)}" for k, v in run.recipe.get("overrides", []))
            recipe_cell = f'<a href="#recipe-{key}">{escape(run.recipe.get("name", "?"))}</a>'
            recipe_cell += f' <span class="note">{escape(overrides)}</span>' if overrides else ""
        versions = _versions(m)
        version_id = version_sets.setdefault(versions, f"v{len(version_sets) + 1}")
        method_text = ", ".join(f"{k}={v}" for k, v in method.items() if k != "name")
        teacher = (m.get("teacher") or {}).get("path") or (m.get("teacher") or {}).get("kind") or ""
        rows.append(
            [
                escape(run.label),
                escape(m.get("kind", "?")),
                escape(m.get("family", "?")),
                escape(method.get("name", "—") + (f" ({method_text})" if method_text else "")),
                escape(_transfer_text(m.get("transfer") or {})),
                escape(teacher.rsplit("/", 1)[-1] if teacher else "—"),
                _fmt(metrics.get("test_accuracy") and 100 * metrics["test_accuracy"], ".2f"),
                _fmt(
                    metrics.get("test_agreement_with_teacher") and 100 * metrics["test_agreement_with_teacher"], ".2f"
                ),
                _fmt(metrics.get("val_agreement") and 100 * metrics["val_agreement"], ".2f"),
                _fmt(metrics.get("val_kl"), ".3f"),
                _fmt((m.get("student") or {}).get("n_params"), ","),
                recipe_cell,
                f'<a href="#versions-{version_id}">{version_id}</a>',
            ]
        )
    runs_html = _table(header, rows, left=6) if rows else '<p class="note">no runs found</p>'
    parts = []
    for key, record in recipes.items():
        parts.append(
            f'<h3 id="recipe-{key}">{escape(record.get("name", "?"))} '
            f'<span class="note">({escape(record.get("source", ""))})</span></h3>'
            f"<pre>{escape(record.get('text', ''))}</pre>"
        )
    version_rows = [[f'<span id="versions-{vid}">{vid}</span>', escape(text)] for text, vid in version_sets.items()]
    versions_html = _table(["set", "versions"], version_rows, left=2) if version_rows else ""
    recipes_html = "".join(parts) or '<p class="note">no recipes recorded</p>'
    return runs_html, recipes_html + "<h2>Versions</h2>" + versions_html


def page(found: Collection, figures: list[tuple[str, bytes]], front_html: str, generated: str) -> str:
    runs_html, recipes_html = runs_section(found)
    figs = "".join(
        f"<figure>{image(png, title)}<figcaption>{escape(title)}</figcaption></figure>" for title, png in figures
    )
    on_demand = any(b.path is None for b in found.benches)
    source = (
        "figures from the bench JSON files, and from the report's own bench of the runs none of them measured"
        if on_demand
        else "figures and tables from the bench JSON files, nothing re-measured"
    )
    summary = (
        f"{len(found.runs)} runs, {len(found.benches)} bench tables, {len(found.sweeps)} sweeps under "
        f"{found.root} · generated {generated} · {source}"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kdedge report: {escape(found.root.name)}</title>
<style>{CSS}</style></head><body>
<h1>kdedge report: {escape(found.root.name)}</h1>
<p class="note">{escape(summary)}</p>
<h2>Accuracy vs cost</h2>
<div class="figs">{figs or '<p class="note">no models with accuracy to plot</p>'}</div>
{front_html}
<h2>Bench tables</h2>
{bench_section(found)}
<h2>Figures per device</h2>
{devices_section(found)}
<h2>Sweeps</h2>
{sweep_section(found)}
<h2>Runs</h2>
{runs_html}
<h2>Recipes</h2>
{recipes_html}
</body></html>
"""
