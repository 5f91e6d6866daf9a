"""Measure exported models side by side. Imports only numpy and onnxruntime, so it runs on a board."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .latency import measure_latency
from .load import load_average, load_record
from .memory import baseline_kb, peak_memory_mb
from .quality import accuracy, agreement, kl_teacher_student, predict

FLOOR_DIR = Path(__file__).with_name("floor")
FLOOR_NAME = "runtime floor"
# p50s within this of the floor's are the floor, as far as repeated runs on a shared machine can tell; a row there
# gets an upper bound on its above-floor ratio rather than a ratio of two noises
FLOOR_NOISE_US = 0.5
C_FLOOR_NAME = "C floor"


@dataclass
class Entry:
    name: str
    model_path: Path
    kind: str = "student"  # "teacher" | "student" | "floor"


@dataclass
class CEntry:
    """A run's C export (RUN/c/ or RUN/c-int8/): the compiled predict function, timed in C beside the ONNX rows."""

    name: str
    c_export: dict  # the run manifest's `c_export` (or `c_int8_export`) record
    onnx_path: Path  # the graph it was checked against (its metadata: family, scores)


def model_metadata(model_path) -> dict[str, str]:
    from .latency import make_session

    meta = make_session(str(model_path), 1).get_modelmeta().custom_metadata_map
    return {k.removeprefix("kdedge."): v for k, v in meta.items()}


def open_model(model_path) -> tuple[Path, dict[str, str], list]:
    """A user's ONNX file: its path, kdedge metadata and (N, *sample_shape); one clear error if it is not one."""
    from ..errors import RunError

    path = Path(model_path)
    if not path.is_file():
        raise RunError(f"{path}: no such model file; pass an .onnx file written by `kdedge export` (RUN/model.onnx)")
    try:
        meta = model_metadata(path)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
        raise RunError(f"{path}: onnxruntime cannot load it ({str(exc).splitlines()[0]}); pass an ONNX model") from None
    for key in JSON_METADATA:  # read by bench, predict and the ONNX teacher: parsed (and refused) once, here
        if key in meta:
            try:
                value = json.loads(meta[key])
            except ValueError:
                value = None
            if not isinstance(value, list):
                raise RunError(
                    f"{path}: its metadata kdedge.{key} is not a JSON list ({meta[key][:40]!r}); re-export it with "
                    "'kdedge export RUN'"
                )
    return path, meta, input_shape(path, meta)


JSON_METADATA = ("class_names", "input_shape")  # kdedge metadata_props holding JSON lists


def model_entry(model_path, dataset, name: str | None = None) -> tuple[Entry, list[str]]:
    """An Entry for a bare ONNX file (no run directory), checked against `dataset`; plus notes for the user."""
    from ..errors import DataError

    path, meta, shape = open_model(model_path)
    expected = [d if isinstance(d, int) else None for d in shape[1:]]
    if len(expected) != len(dataset.sample_shape) or any(
        e is not None and e != d for e, d in zip(expected, dataset.sample_shape, strict=False)
    ):
        raise DataError(
            f"{path} expects inputs of shape ({', '.join(map(str, shape))}) but {dataset.name} has samples of shape "
            f"{dataset.sample_shape}; bench it on data of the same shape"
        )
    notes = []
    if "class_names" in meta and len(json.loads(meta["class_names"])) != dataset.n_classes:
        raise DataError(
            f"{path} has {len(json.loads(meta['class_names']))} classes but {dataset.name} has {dataset.n_classes}; "
            "use data with the same classes"
        )
    if meta.get("dataset_fingerprint") not in (None, dataset.fingerprint):
        notes.append(
            f"{path} was trained on other data or another split than this {dataset.name} split (seed "
            f"{dataset.seed}): its test figures may include samples it was trained on"
        )
    kind = "teacher" if meta.get("kind") == "teacher" and meta.get("precision", "fp32") == "fp32" else "student"
    return Entry(name or str(path), path, kind), notes


def input_shape(model_path, meta: dict | None = None) -> list:
    """(N, *sample_shape) from kdedge metadata, else from the graph's input (symbolic dims as strings)."""
    from .latency import make_session

    meta = model_metadata(model_path) if meta is None else meta
    if "input_shape" in meta:
        return json.loads(meta["input_shape"])
    return list(make_session(str(model_path), 1).get_inputs()[0].shape)


def floor_model(sample_ndim: int) -> Path:
    """An Identity graph of the same input rank: what onnxruntime costs per call before any model work."""
    path = FLOOR_DIR / f"identity_rank{sample_ndim + 1}.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"no runtime-floor graph for inputs of rank {sample_ndim + 1}")
    return path


def machine() -> dict:
    import onnxruntime as ort

    from .. import __version__

    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "hostname": platform.node(),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "kdedge": __version__,
    }


def cpu_model() -> str:
    """The CPU's name as Linux reports it (x86 `model name`; ARM boards `Model`, `Hardware` or the core's part
    number), else platform.processor(): what a table titled with a device should say it ran on."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return platform.processor() or platform.machine()
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    for key in ("model name", "Model", "Hardware", "cpu model"):
        if fields.get(key):
            return fields[key]
    if fields.get("CPU part"):  # aarch64 without a model name: the implementer and part number at least
        return f"ARM CPU implementer {fields.get('CPU implementer', '?')} part {fields['CPU part']}"
    return platform.processor() or platform.machine()


def bench(
    entries: list[Entry],
    x: np.ndarray,
    y: np.ndarray,
    threads: int | list[int] = 1,
    memory: bool = True,
    floor: bool = True,
    latency_options: dict | None = None,
    batches: list[int] | tuple[int, ...] = (1,),
    inter_op_threads: int = 1,
    optimization: str | None = None,
    c_entries: list[CEntry] | tuple = (),
) -> dict:
    """Accuracy, agreement with the teacher entry, latency, memory, size and parameters for each entry.

    Latency is measured for every (threads, batch) combination: `row["latencies"]`, one block each. The first
    combination is the headline, `row["latency"]`, which the ratios to the teacher use. Each model runs with
    the graph optimization level its metadata names (set by its export target) unless `optimization` is given.

    With `floor`, the runtime floor row comes last and every row's memory and ratios are also given net of it
    (`memory["above_floor_mb"]`, `vs_teacher["p50_above_floor"]`): what the model costs beyond onnxruntime itself.
    `load` records the load average before and after, and whether the machine was busier than its cores.
    """
    latency_options = latency_options or {}
    thread_counts = [threads] if isinstance(threads, int) else list(threads)
    batches = list(batches)
    combos = [(t, b) for t in thread_counts for b in batches]
    samples = x[: min(len(x), max(256, *batches))]
    load_before = load_average()
    base = baseline_kb() if memory else None

    def measure(path: Path, level: str) -> list[dict]:
        return [
            measure_latency(
                path, samples, t, batch=b, inter_op_threads=inter_op_threads, optimization=level, **latency_options
            )
            for t, b in combos
        ]

    rows, labels_of, logits_of = [], {}, {}
    from ..progress import progress_bar  # numpy-only until a terminal asks for a bar (rich is in the core install)

    with progress_bar("bench: model", total=len(entries) + int(floor), transient=False) as advance:
        for entry in entries:
            row, labels_of[entry.name], logits = _measure_entry(
                entry, x, y, thread_counts[0], optimization, measure, memory, base
            )
            rows.append(row)
            if logits is not None:
                logits_of[entry.name] = logits
            advance(entry.name)
        c_floor = _c_rows(c_entries, x, y, samples, latency_options, rows, labels_of, logits_of)
        if floor:  # onnxruntime's own per-call cost, measured the same way
            path = floor_model(x.ndim - 1)
            row = {"name": FLOOR_NAME, "kind": "floor", "family": "identity", "precision": "fp32", "path": str(path)}
            latencies = measure(path, optimization or "all")
            row.update(latency=latencies[0], latencies=latencies)
            if memory:
                row["memory"] = peak_memory_mb(path, thread_counts[0], base)
            rows.append(row)
            _net_of_floor(rows, row, c_floor)
            advance(FLOOR_NAME)
    _compare_with_teacher(rows, labels_of, logits_of)
    if floor and c_floor:
        rows.append(c_floor)
    return {
        "threads": thread_counts[0],
        "batch": batches[0],
        "sweep": {"threads": thread_counts, "batch": batches, "inter_op_threads": inter_op_threads},
        "test_samples": int(len(x)),
        "machine": machine(),
        "load": load_record(load_before, load_average()),
        "rows": rows,
    }


def _measure_entry(entry: Entry, x, y, threads: int, optimization, measure, memory: bool, base):
    """(one model's row, its labels, its scores if they are logits else None)."""
    meta = model_metadata(entry.model_path)
    level = optimization or meta.get("graph_optimization", "all")
    scores, labels = predict(entry.model_path, x, threads, optimization=level)
    latencies = measure(entry.model_path, level)
    row = {
        "name": entry.name,
        "kind": entry.kind,
        "family": meta.get("family", "?"),
        "precision": meta.get("precision", "fp32"),
        "target": meta.get("target"),
        "path": str(entry.model_path),
        "accuracy": accuracy(labels, y),
        "size_kb": entry.model_path.stat().st_size / 1024,
        "n_params": int(meta["n_params"]) if "n_params" in meta else None,
        "latency": latencies[0],
        "latencies": latencies,
    }
    if memory:
        row["memory"] = peak_memory_mb(entry.model_path, threads, base, level)
    # KL means something only between probability distributions
    return row, labels, scores if meta.get("scores") == "logits" else None


def _net_of_floor(rows: list[dict], floor_row: dict, c_floor: dict | None = None) -> None:
    """Each row's memory above the floor's session cost, and its p50 above the floor's (0 for the floor itself);
    C rows are net of the C floor (an empty function call), not of onnxruntime's."""
    floor_mem = (floor_row.get("memory") or {}).get("model_mb")
    for row in rows:
        c_row = row.get("target") == "c" and c_floor is not None
        row["floor_p50_us"] = (c_floor if c_row else floor_row)["latency"]["p50_us"]
        if row.get("memory") and floor_mem is not None:
            row["memory"]["above_floor_mb"] = max(row["memory"]["model_mb"] - floor_mem, 0.0)


def _c_rows(c_entries, x, y, samples, latency_options, rows, labels_of, logits_of) -> dict | None:
    """One row per C export (batch 1, one thread, timed in C) appended to `rows`; returns the C floor row."""
    import tempfile

    from . import c_harness

    floor_row = None
    for entry in c_entries:
        info = entry.c_export
        meta = model_metadata(entry.onnx_path)
        c_file = Path(info["path"]) / f"{info['prefix']}.c"
        with tempfile.TemporaryDirectory(prefix="kdedge-c-bench-") as tmp:
            exe = c_harness.build(c_file, info["prefix"], info["n_features"], info["n_classes"], Path(tmp))
            scores, labels = c_harness.predict(exe, x, info["n_classes"])
            latency = c_harness.time_c(exe, samples, **latency_options)
            if floor_row is None:
                floor_latency = c_harness.time_c(exe, samples, floor=True, **latency_options)
                floor_row = {
                    "name": C_FLOOR_NAME,
                    "kind": "floor",
                    "family": "empty C function",
                    "precision": "fp32",
                    "path": "",
                    "latency": floor_latency,
                    "latencies": [floor_latency],
                }
        labels_of[entry.name] = labels
        if meta.get("scores") == "logits":
            logits_of[entry.name] = scores
        mcu = info.get("mcu") or {}
        rows.append(
            {
                "name": entry.name,
                "kind": "student",
                "family": meta.get("family", "?"),
                "precision": info.get("precision", "fp32"),
                "target": "c",
                "path": str(c_file),
                "accuracy": accuracy(labels, y),
                # the C row's size is its flash on the microcontroller it was exported for, when measured
                "size_kb": mcu.get("flash_kb"),
                "n_params": int(meta["n_params"]) if "n_params" in meta else None,
                "latency": latency,
                "latencies": [latency],
                "mcu": mcu or None,
                "library": info.get("library"),
            }
        )
    return floor_row


def _compare_with_teacher(rows: list[dict], labels_of: dict, logits_of: dict) -> None:
    """Agreement with the teacher row's labels, KL where both give logits, and ratios to it, on every row."""
    teacher = next((r for r in rows if r["kind"] == "teacher"), None)
    if teacher is None:
        return
    for row in rows:
        if row["kind"] == "floor":  # no predictions; its ratios would be those of an Identity graph
            continue
        row["agreement"] = agreement(labels_of[row["name"]], labels_of[teacher["name"]])
        if row["name"] in logits_of and teacher["name"] in logits_of:
            row["kl_teacher"] = kl_teacher_student(logits_of[row["name"]], logits_of[teacher["name"]])
        row["vs_teacher"] = _ratios(row, teacher)


def _ratios(row: dict, teacher: dict) -> dict:
    def ratio(a, b):
        return None if a is None or not b else a / b

    ratios = {
        "p50": ratio(row["latency"]["p50_us"], teacher["latency"]["p50_us"]),
        "size": ratio(row["size_kb"], teacher["size_kb"]),
        "params": ratio(row["n_params"], teacher["n_params"]),
    }
    floor = row.get("floor_p50_us")
    if floor is not None:  # each net of its runtime's per-call cost; at the floor, an upper bound
        teacher_floor = teacher.get("floor_p50_us", floor)
        above, teacher_above = row["latency"]["p50_us"] - floor, teacher["latency"]["p50_us"] - teacher_floor
        ratios["p50_at_floor"] = above < FLOOR_NOISE_US
        ratios["p50_above_floor"] = (
            ratio(max(above, FLOOR_NOISE_US), teacher_above) if teacher_above >= FLOOR_NOISE_US else None
        )
    return ratios
