"""Every measured model of a report once, numbered: its accuracy, size, and p50 per measurement group.

A measurement group is one data set's test split, measured on one machine under one load state at one (threads,
batch): latencies from different groups are never drawn on one plot, nor accuracies on different data. A model
benched several times in one group keeps its newest figures; rows are tied to the runs under the report root by
their model file, so a run benched in a sweep and in a recipe is one model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .collect import BenchResult, Collection


@dataclass
class Model:
    key: tuple  # (run label or bench/row name, variant): one per model file
    label: str
    kind: str  # teacher | student
    family: str
    run: str | None  # the run's label under the root, when the model is a run's
    data: str  # the data whose test split measured it: accuracies of different data are never on one plot
    accuracy: float | None = None  # percent, on its test split
    size_kb: float | None = None
    p50_us: dict[str, float] = field(default_factory=dict)  # group id -> p50
    sources: list[str] = field(default_factory=list)  # bench result labels, "measured by this report"
    number: int = 0


@dataclass
class Group:
    id: str  # A, B, ...
    key: tuple
    data: str
    text: str  # in words: data, machine, cores, threads and batch, load


@dataclass
class Measured:
    models: list[Model]
    groups: list[Group]


def group_key(result: dict, data: str) -> tuple[tuple, str]:
    """(key, words) of the conditions a bench result's headline latencies were taken under, on `data`."""
    m, load = result.get("machine") or {}, result.get("load")
    where = (
        f"{m.get('platform', '?')} ({m.get('processor') or m.get('machine') or '?'}, {m.get('cpu_count', '?')} CPUs)"
    )
    how = f"{result.get('threads', 1)} thread(s), batch {result.get('batch', 1)}"
    if load is None:
        state, busy = "load not recorded", None
    elif load.get("busy"):
        state, busy = "machine busy (load average above the core count): latencies likely inflated", True
    else:
        state, busy = "load below the core count", False
    key = (data, m.get("platform"), m.get("processor") or m.get("machine"), m.get("cpu_count"), how, busy)
    return key, f"{data} test split; {where}, {how}, {state}"


def _run_folder(path: str, bench: BenchResult, root: Path, runs: dict[Path, str]) -> str | None:
    """The label of the run a row's model file belongs to (RUN/model.onnx, RUN/model.int8.onnx, RUN/c/x.c)."""
    if not path:
        return None
    given = Path(path)
    # a relative path is relative to where bench ran: the cwd, or (a report of runs/ made in its parent) one of
    # the folders above the bench file
    bases = [Path.cwd(), *([bench.path.parent, *bench.path.parent.parents] if bench.path else [root, *root.parents])]
    candidates = [given] if given.is_absolute() else [base / given for base in bases]
    for candidate in candidates:
        for folder in (candidate.parent, candidate.parent.parent):
            try:
                label = runs.get(folder.resolve())
            except OSError:
                label = None
            if label is not None:
                return label
    return None


def _group_id(i: int) -> str:
    return chr(ord("A") + i % 26) + (str(i // 26) if i >= 26 else "")


def _variant(row: dict) -> str:
    if row.get("target") == "c":
        return "C"
    return "int8" if str(row.get("path", "")).endswith(".int8.onnx") else ""


def measured(found: Collection, benches: list[BenchResult]) -> Measured:
    """The models of `benches` (oldest first, so newer figures win), numbered by label."""
    runs = {r.path.resolve(): r.label for r in found.runs}
    several = len(benches) > 1
    models: dict[tuple, Model] = {}
    groups: dict[tuple, Group] = {}
    for bench in benches:
        for row in bench.result["rows"]:
            if row.get("kind") == "floor" or row.get("accuracy") is None:
                continue
            data = (row.get("data") or bench.result.get("data") or {}).get("name", "?")
            key, text = group_key(bench.result, data)
            group = groups.setdefault(key, Group(_group_id(len(groups)), key, data, text))
            run = _run_folder(row.get("path", ""), bench, found.root, runs)
            variant = _variant(row)
            if run is not None:
                model_key, label = (run, variant), f"{run} {variant}".strip()
            else:
                label = f"{bench.label}/{row['name']}" if several else row["name"]
                model_key = (label, "")
            model = models.setdefault(
                model_key,
                Model(
                    model_key, label, "teacher" if row["kind"] == "teacher" else "student", row.get("family"), run, data
                ),
            )
            model.accuracy = 100 * row["accuracy"]
            if row.get("size_kb") is not None:
                model.size_kb = row["size_kb"]
            p50 = (row.get("latency") or {}).get("p50_us")
            if p50 is not None:
                model.p50_us[group.id] = p50
            if bench.label not in model.sources:
                model.sources.append(bench.label)
    ordered = sorted(models.values(), key=lambda m: m.label)
    for i, model in enumerate(ordered, 1):
        model.number = i
    return Measured(ordered, list(groups.values()))


def runs_measured(found: Collection, benches: list[BenchResult]) -> set[str]:
    """Labels of the runs some bench result has a row for."""
    return {m.run for m in measured(found, benches).models if m.run is not None}
