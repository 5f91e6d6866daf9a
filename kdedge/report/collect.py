"""Find what a report shows under a folder: bench results, run manifests and sweep tables. Reads files only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from ..errors import RunError
from ..manifest import Manifest
from ..measure.board.devices import DEVICES_DIR
from ..runs import MANIFEST, TARGETS_DIR

# caches, ensemble members (copies of runs shown elsewhere), and boards' figures (read with their run, below)
SKIP_DIRS = {TARGETS_DIR, "members", "__pycache__", DEVICES_DIR}


@dataclass
class BenchResult:
    label: str  # its folder relative to the report root
    path: Path | None  # None: measured by the report itself
    result: dict


@dataclass
class RunInfo:
    label: str
    path: Path
    manifest: dict
    recipe: dict | None  # the recipe record (text, overrides) when a recipe made it


@dataclass
class DeviceFigures:
    """A board's figures for one run (`kdedge bench RUN --on ssh://...`: RUN/devices/NAME.json)."""

    label: str  # the run's label
    run: Path
    device: str
    record: dict


@dataclass
class SweepInfo:
    label: str
    path: Path
    plan: dict
    table: dict | None
    markdown: str


@dataclass
class Collection:
    root: Path
    benches: list[BenchResult] = field(default_factory=list)
    runs: list[RunInfo] = field(default_factory=list)
    sweeps: list[SweepInfo] = field(default_factory=list)
    devices: list[DeviceFigures] = field(default_factory=list)


@dataclass(frozen=True)
class Selection:
    """Which folders a report shows: labels (paths under the root) matching any `include` glob (all when empty)
    and no `exclude` glob; of the runs, only the `latest` newest by creation time when set."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    latest: int | None = None

    def wants(self, label: str) -> bool:
        if self.include and not any(fnmatch(label, pattern) for pattern in self.include):
            return False
        return not any(fnmatch(label, pattern) for pattern in self.exclude)


def _read(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# Records only kdedge writes under these names (a recipe's OUT/bench.json, a sweep's plan and results): a damaged one is
# one line naming it, not a report that silently leaves it out. Any other *.json may be anyone's and is skipped.
BENCH_RECORD = "bench.json"
_REMAKE = "make it again (kdedge bench --out, kdedge run, kdedge sweep) or leave its folder out with --exclude"


def _read_record(path: Path, what: str):
    from .._io import read_run_file

    return read_run_file(path, what, _REMAKE)


def is_bench_result(payload) -> bool:
    return isinstance(payload, dict) and _bench_rows_are_records(payload) and "machine" in payload


def _bench_rows_are_records(payload) -> bool:
    rows = payload.get("rows") if isinstance(payload, dict) else None
    return isinstance(rows, list) and all(isinstance(row, dict) for row in rows)


def _label(path: Path, root: Path) -> str:
    rel = path.relative_to(root) if path != root else Path(".")
    return str(rel) if str(rel) != "." else root.name


def _walk(root: Path):
    """Folders under root (root included), depth first in name order; hidden and cache folders skipped."""
    yield root
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        if child.name.startswith(".") or child.name in SKIP_DIRS:
            continue
        yield from _walk(child)


def collect(root, selection: Selection | None = None) -> Collection:
    from ..sweep import PLAN, RESULTS_JSON, RESULTS_MD

    root, selection = Path(root), selection or Selection()
    found = Collection(root)
    for folder in _walk(root):
        if not selection.wants(_label(folder, root)):
            continue
        for path in sorted(folder.glob("*.json")):
            if path.name in (MANIFEST, PLAN) or path.name.startswith("."):
                continue
            payload = _read_record(path, "bench") if path.name == BENCH_RECORD else _read(path)
            if path.name == BENCH_RECORD and not is_bench_result(payload):
                raise RunError(f"{path}: not a kdedge bench record (rows of figures); {_REMAKE}")
            if is_bench_result(payload):
                found.benches.append(BenchResult(_label(folder, root), path, payload))
        # validated like every other reader of a manifest: a damaged one is one line naming it, not a traceback
        manifest = Manifest.read(folder / MANIFEST).model_dump(mode="json") if (folder / MANIFEST).is_file() else None
        if manifest is not None:
            recipe = manifest.get("recipe") or _read(folder.parent / "recipe.json")
            found.runs.append(RunInfo(_label(folder, root), folder, manifest, recipe))
            from ..measure.board import devices

            for device, record in devices.read(folder).items():
                found.devices.append(DeviceFigures(_label(folder, root), folder, device, record))
        if (folder / PLAN).is_file():
            md = folder / RESULTS_MD
            found.sweeps.append(
                SweepInfo(
                    _label(folder, root),
                    folder,
                    _read_record(folder / PLAN, "sweep"),
                    _read_record(folder / RESULTS_JSON, "sweep results") if (folder / RESULTS_JSON).exists() else None,
                    md.read_text() if md.is_file() else "",
                )
            )
    if selection.latest is not None:
        found.runs = sorted(found.runs, key=lambda r: r.manifest.get("created", ""), reverse=True)[: selection.latest]
        found.runs.sort(key=lambda r: r.label)
        kept = {r.label for r in found.runs}
        found.devices = [d for d in found.devices if d.label in kept]
    return found
