"""A board's figures kept in the runs they measure: `RUN/devices/NAME.json`, one per device, holding the board's
bench result for that run's rows (fp32, int8, C) and the runtime floors, the device description, when, and the
SHA-256 of each graph measured, so a report can tell figures of a graph exported again since. Written atomically
under the run's folder lock (kdedge/outputs.py); a later bench on the same device replaces its record.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

DEVICES_DIR = "devices"


def sha256(path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def device_record(board, machine: dict) -> dict:
    """How a table names the board: the address given, and what its kdedge reported about itself."""
    keys = ("hostname", "cpu_model", "machine", "cpu_count", "onnxruntime", "kdedge", "python", "platform")
    return {"name": board.name, "url": board.url, **{k: machine.get(k) for k in keys}}


def store(result: dict, runs: list[Path], names: list[str]) -> list[Path]:
    """Write each run's share of a board's `result` to RUN/devices/NAME.json; the files written."""
    from ..._io import write_json
    from ...outputs import writing
    from .. import C_FLOOR_NAME

    device = result["device"]["name"]
    all_floors = [row for row in result["rows"] if row.get("kind") == "floor"]
    measured = datetime.now(UTC).isoformat(timespec="seconds")
    written = []
    for run, name in zip(runs, names, strict=True):
        rows = [row for row in result["rows"] if row["name"] in (name, f"{name} int8", f"{name} C")]
        if not rows:
            continue
        has_c = any(row.get("target") == "c" for row in rows)
        floors = [row for row in all_floors if has_c or row["name"] != C_FLOOR_NAME]  # each with what it is under
        record = {
            **result,
            "rows": rows + floors,
            "measured_at": measured,
            # by path inside the run, so the check works from any folder
            "graphs": {row["name"]: [os.path.relpath(row["path"], run), sha256(row["path"])] for row in rows},
        }
        path = Path(run) / DEVICES_DIR / f"{device}.json"
        with writing(run):
            write_json(path, record)
        written.append(path)
    return written


def read(run: Path) -> dict[str, dict]:
    """The device records of a run, by device name; an unreadable one is skipped (reports read what is there)."""
    import json

    records = {}
    for path in sorted((Path(run) / DEVICES_DIR).glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("rows"), list) and isinstance(record.get("device"), dict):
            records[path.stem] = record
    return records


def changed_since(record: dict, run: Path) -> list[str]:
    """Rows whose graph in `run` is no longer the one the board measured (exported again since)."""
    changed = []
    for name, graph in (record.get("graphs") or {}).items():
        if isinstance(graph, list) and len(graph) == 2 and sha256(Path(run) / str(graph[0])) != graph[1]:
            changed.append(name)
    return changed
