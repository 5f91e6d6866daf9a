"""What a run is, from its manifest and folder: what `kdedge show` prints and `kdedge compare` lines up.

Reads only the typed manifest, file sizes and bench JSON files already written (nothing is measured or loaded), so it
needs no more than the core install.
"""

from __future__ import annotations

import json
from pathlib import Path

from .runs import INT8_FILE, ONNX_FILE, Run

BENCH_FILE_LIMIT = 50 * 1024 * 1024  # bench JSON with raw times is a few MB at most; larger files are something else


def describe(run: Run) -> dict:
    """One JSON-ready description: kind, family, teacher, method, options, transfer set, data, metrics, files with
    sizes, the export record and any bench figures stored beside the run."""
    m = run.manifest
    data = m.data
    return {
        "run": str(run.path),
        "kind": m.kind,
        "family": m.family,
        "created": m.created,
        "seed": m.seed,
        "n_params": m.student.n_params,
        "teacher": m.teacher,
        "method": m.method,
        "options": m.student.params,
        "transfer": m.transfer,
        "data": {
            "name": data.name,
            "source": data.source,
            "format": data.format,
            "seed": data.seed,
            "sizes": data.sizes,
            "n_classes": data.n_classes,
            "sample_shape": data.sample_shape,
            "layout": data.layout,
            "fingerprint": data.fingerprint,
        },
        "metrics": {k: v for k, v in m.metrics.items() if isinstance(v, int | float | str | bool) or v is None},
        "files": files(run.path),
        "export": _export(run),
        "apps": _apps(run),
        "recipe": (m.recipe or {}).get("name"),
        "defaults": (m.defaults or {}).get("recipe"),
        "baseline": m.baseline,
        "bench": stored_bench(run),
    }


def files(folder: Path) -> list[dict]:
    """Every top-level entry with its size in bytes (a folder: the total of the files under it, and their count)."""
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):  # a temporary name being written, or a lock
            continue
        if entry.is_dir():
            inner = [p for p in entry.rglob("*") if p.is_file()]
            found.append({"name": entry.name + "/", "bytes": sum(p.stat().st_size for p in inner), "files": len(inner)})
        else:
            found.append({"name": entry.name, "bytes": entry.stat().st_size})
    return found


def _export(run: Run) -> dict | None:
    record = run.manifest.export
    if not record:
        return None
    target = record.get("target") or {}
    return {
        "target": target.get("name") if isinstance(target, dict) else target,
        "precision": target.get("precision", "fp32") if isinstance(target, dict) else None,
        "opset": record.get("opset"),
        "onnx_bytes": _size(run.path / ONNX_FILE),
        "int8_bytes": _size(run.path / INT8_FILE),
        "int8": record.get("int8"),
        "int8_skipped": record.get("int8_skipped"),
        "parity": record.get("parity"),
        "exported": record.get("exported"),
    }


def _apps(run: Run) -> dict:
    """The app targets exported for the run (RUN/mobile/, RUN/web/): files and sizes, runtime, check."""
    found = {}
    for folder, record in sorted((run.manifest.apps or {}).items()):
        if (run.path / folder).is_dir():
            keys = ("target", "files", "runtime", "check", "parity")
            found[folder] = {k: record.get(k) for k in keys}
    return found


def _size(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None


def stored_bench(run: Run) -> list[dict]:
    """Rows for this run's graphs in bench JSON files in its folder or the folder above (where `kdedge run` and
    `kdedge bench --out` put them), with the file each came from and whether the machine was busy then."""
    found = []
    for folder in (run.path, run.path.parent):
        for candidate in sorted(folder.glob("*.json")):
            result = _bench_result(candidate)
            if result is None:
                continue
            for row in result["rows"]:
                if _is_this_run(row.get("path"), run.path):
                    found.append(_bench_row(row, result, candidate))
    return found


def _bench_result(path: Path) -> dict | None:
    try:
        if path.stat().st_size > BENCH_FILE_LIMIT:
            return None
        payload = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    rows = payload.get("rows") if isinstance(payload, dict) else None
    ok = isinstance(rows, list) and all(isinstance(r, dict) for r in rows) and "machine" in payload
    return payload if ok else None


def _is_this_run(model_path, run_path: Path) -> bool:
    """A row's model is this run's graph: by resolved path, or (relative paths from another working directory) by
    the run folder's name and the file's."""
    if not model_path:
        return False
    model = Path(model_path)
    if model.name not in (ONNX_FILE, INT8_FILE):
        return False
    if model.is_absolute():
        return model.parent.resolve() == run_path.resolve()
    return model.parent.name == run_path.name


def _bench_row(row: dict, result: dict, source: Path) -> dict:
    latency, memory, ratios = row.get("latency") or {}, row.get("memory") or {}, row.get("vs_teacher") or {}
    return {
        "file": str(source),
        "name": row.get("name"),
        "precision": row.get("precision"),
        "accuracy": row.get("accuracy"),
        "agreement": row.get("agreement"),
        "p50_us": latency.get("p50_us"),
        "floor_p50_us": row.get("floor_p50_us"),
        "memory_above_floor_mb": memory.get("above_floor_mb"),
        "memory_mb": memory.get("model_mb"),
        "p50_above_floor_vs_teacher": ratios.get("p50_above_floor"),
        "p50_vs_teacher": ratios.get("p50"),
        "threads": result.get("threads"),
        "batch": result.get("batch"),
        "busy": (result.get("load") or {}).get("busy"),
    }


# -- text -----------------------------------------------------------------------------------------------------------


def _number(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _kb(n: int | None) -> str:
    return "—" if n is None else f"{n / 1024:.1f} KB"


SECTIONS = ("kind", "params", "created", "seed", "teacher", "method", "option", "transfer", "data", "metric", "file")
SECTIONS += ("export", "int8", "app", "bench", "recipe")


def ordered(labels) -> list[str]:
    """Labels from several runs' fields in one order: by section, then first appearance."""
    labels = list(dict.fromkeys(labels))
    rank = {name: i for i, name in enumerate(SECTIONS)}
    return sorted(labels, key=lambda label: rank.get(label.split(" ")[0], len(SECTIONS)))


def fields(d: dict) -> dict[str, str]:
    """The description as ordered (label, text) pairs: what `show` prints and `compare` lines up row by row."""
    out: dict[str, str] = {
        "kind": f"{d['kind']} {d['family']}",
        "params": f"{d['n_params']:,}",
        "created": d["created"] or "—",
        "seed": str(d["seed"]),
    }
    teacher = d.get("teacher") or {}
    out["teacher"] = (
        f"{teacher.get('path', '?')} ({teacher.get('family', '?')}, {str(teacher.get('fingerprint', '?'))[:8]})"
        if teacher
        else "— (trained on labels)"
    )
    method = dict(d.get("method") or {})
    name = method.pop("name", "—")
    out["method"] = name + (": " + ", ".join(f"{k} {_number(v)}" for k, v in method.items()) if method else "")
    for key, value in (d.get("options") or {}).items():
        out[f"option {key}"] = ",".join(map(str, value)) if isinstance(value, list) else _number(value)
    transfer = d.get("transfer") or {}
    out["transfer"] = f"{transfer.get('kind', '—')}" + (f", {transfer['size']:,} samples" if "size" in transfer else "")
    data = d["data"]
    sizes = data.get("sizes") or {}
    out["data"] = (
        f"{data['name']} ({data['source']}), split seed {data['seed']}, "
        + ("/".join(str(sizes.get(s, "?")) for s in ("train", "val", "test")) + " train/val/test, " if sizes else "")
        + f"{data['n_classes']} classes, samples {tuple(data['sample_shape'])} {data['layout']}"
    )
    for key, value in d.get("metrics", {}).items():
        out[f"metric {key}"] = _number(value)
    if d.get("defaults"):
        out["teaching default"] = d["defaults"]
    baseline = d.get("baseline")
    if baseline and baseline.get("val_gain") is not None:  # whether the teacher helped (--baseline)
        kept = "labels kept" if baseline.get("kept") == "labels" else "taught kept"
        out["vs labels (val)"] = (
            f"{100 * baseline['val_gain']:+.2f} pt (labels {100 * baseline['val_accuracy']:.2f} %, {kept}; "
            f"{baseline.get('run')}/)"
        )
    for entry in d.get("files", []):
        extra = f" ({entry['files']} files)" if "files" in entry else ""
        out[f"file {entry['name']}"] = _kb(entry["bytes"]) + extra
    export = d.get("export")
    if export is None:
        out["export"] = "— (not exported; kdedge export RUN)"
    else:
        parity = export.get("parity") or {}
        out["export"] = f"{export.get('target') or '?'} ({export.get('precision') or '?'}, opset {export.get('opset')})"
        if parity:
            out["export"] += (
                f"; parity max |Δ| {parity.get('max_abs_diff', 0):.1e}, labels "
                f"{100 * parity.get('label_agreement', 0):.2f}% on {parity.get('samples')} samples"
            )
        int8 = export.get("int8")
        out["int8"] = export.get("int8_skipped") or _int8_text(int8, export.get("int8_bytes"))
    for folder, app in (d.get("apps") or {}).items():
        shown = [f"{name} {_kb(size)}" for name, size in app["files"].items() if not name.startswith("ort/")]
        bundled = sum(size for name, size in app["files"].items() if name.startswith("ort/"))
        if bundled:
            shown.append(f"ort/ {_kb(bundled)}")
        out[f"app {folder}"] = f"{app['target']}: {', '.join(shown)}; {app['runtime']}"
    for row in d.get("bench", []):
        # labelled by precision and file, not row name, so `compare` lines up two runs benched in the same file
        precision = "" if row.get("precision") in (None, "fp32") else f" {row['precision']}"
        label = f"bench{precision} [{Path(row['file']).name}]"
        out[label] = _bench_text(row)
    if d.get("recipe"):
        out["recipe"] = d["recipe"]
    return out


def _int8_text(record, size) -> str:
    if not record:
        return "—"
    if isinstance(record, dict):
        text = f"{record.get('scheme', 'int8')}, " + (_kb(size) if size is not None else "file missing")
        if record.get("int8_accuracy") is not None:
            text += f", test acc {100 * record['int8_accuracy']:.2f}%"
        speed = record.get("speed") or {}
        if speed:
            text += f", p50 {speed['int8_p50_us']:.1f} µs vs {speed['fp32_p50_us']:.1f} µs fp32 (batch 1)"
        return text
    return str(record)


def _bench_text(row: dict) -> str:
    parts = []
    if row.get("accuracy") is not None:
        parts.append(f"acc {100 * row['accuracy']:.2f}%")
    if row.get("agreement") is not None:
        parts.append(f"agree {100 * row['agreement']:.2f}%")
    if row.get("p50_us") is not None:
        floor = f" (floor {row['floor_p50_us']:.1f})" if row.get("floor_p50_us") is not None else ""
        parts.append(f"p50 {row['p50_us']:.1f} µs{floor}")
    if row.get("memory_above_floor_mb") is not None:
        parts.append(f"mem >floor {row['memory_above_floor_mb']:.2f} MB")
    if row.get("p50_above_floor_vs_teacher") is not None:
        parts.append(f"p50 ×T >floor {row['p50_above_floor_vs_teacher']:.2f}")
    parts.append(f"{row.get('threads')} thread(s), batch {row.get('batch')}")
    if row.get("busy"):
        parts.append("measured on a busy machine")
    return ", ".join(parts)
