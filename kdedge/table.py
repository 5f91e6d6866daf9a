"""Render bench results as a rich table (stdout): the key columns by default, so it fits 100 columns; any others
on request. The column registry is shared with the HTML report, so both show the same figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_WIDTH = 100  # what the key columns fit in
FULL_WIDTH = 220  # what every column fits in


def available_width(widest: int = FULL_WIDTH) -> int:
    """How wide output may be: $COLUMNS when set, else the terminal's width, else `widest` (a file or a pipe)."""
    import os
    import shutil
    import sys

    try:
        columns = int(os.environ.get("COLUMNS", ""))
        if columns > 0:
            return columns
    except ValueError:
        pass
    if sys.stdout.isatty():
        return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    return widest


def console_for(renderable=None, preferred: int = DEFAULT_WIDTH, widest: int = FULL_WIDTH, **options):
    """A rich Console for printing `renderable` to stdout: as wide as it needs (at least `preferred`, at most
    `widest`), never wider than the terminal or $COLUMNS; rich then shrinks the table's wrapping columns to fit."""
    from rich.console import Console
    from rich.measure import Measurement

    width = preferred
    if renderable is not None:
        wide = Console(width=widest)
        width = max(Measurement.get(wide, wide.options, renderable).maximum, preferred)
    return Console(width=min(width, widest, available_width(widest)), **options)


def _fmt(value, spec: str, missing: str = "—") -> str:
    return missing if value is None else format(value, spec)


def _pct(value) -> str:
    return _fmt(None if value is None else 100 * value, ".2f")


def _latency(row: dict, key: str, spec: str) -> str:
    return _fmt((row.get("latency") or {}).get(key), spec)


def _memory(row: dict, key: str) -> str:
    return _fmt((row.get("memory") or {}).get(key), ".2f")


def _ratio(row: dict, key: str, spec: str = ".2f") -> str:
    return _fmt((row.get("vs_teacher") or {}).get(key), spec)


def _p50_above_floor(row: dict) -> str:
    ratios = row.get("vs_teacher") or {}
    text = _fmt(ratios.get("p50_above_floor"), ".2f")
    return f"≤{text}" if ratios.get("p50_at_floor") and text != "—" else text


def _model(row: dict) -> str:
    return row["name"] + (" (teacher)" if row.get("kind") == "teacher" else "")


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[dict], str]
    key: bool = False  # shown by default
    left: bool = False
    legend: str = ""


# id -> column, in display order; `--columns` takes these ids
COLUMNS: dict[str, Column] = {
    "model": Column("model", _model, key=True, left=True),
    "family": Column("family", lambda r: str(r.get("family", "?")), key=True, left=True),
    "prec": Column("prec", lambda r: str(r.get("precision", "fp32")), key=True, left=True),
    "acc": Column("acc %", lambda r: _pct(r.get("accuracy")), key=True),
    "agree": Column(
        "agree %", lambda r: _pct(r.get("agreement")), key=True, legend="agree %: same label as the teacher"
    ),
    "kl": Column(
        "KL",
        lambda r: _fmt(r.get("kl_teacher"), ".3f"),
        legend="KL: KL(teacher ‖ student) in nats, for students whose scores are logits",
    ),
    "p50": Column("p50 µs", lambda r: _latency(r, "p50_us", ".1f"), key=True),
    "p90": Column("p90 µs", lambda r: _latency(r, "p90_us", ".1f")),
    "p99": Column("p99 µs", lambda r: _latency(r, "p99_us", ".1f")),
    "first": Column(
        "first µs",
        lambda r: _latency(r, "first_run_us", ".0f"),
        legend="first µs: first call, median of fresh sessions",
    ),
    "init": Column(
        "init ms", lambda r: _latency(r, "session_init_ms", ".1f"), legend="init ms: session creation, median"
    ),
    "mem": Column(
        "mem MB\n>floor",
        lambda r: _memory(r, "above_floor_mb"),
        key=True,
        legend="mem MB >floor: peak RSS of a fresh process that loads and runs the model, minus the runtime floor's",
    ),
    "mem_raw": Column(
        "mem MB\nraw",
        lambda r: _memory(r, "model_mb"),
        legend="mem MB raw: the same, minus only a process that imports onnxruntime (includes its session cost)",
    ),
    "size": Column("size KB", lambda r: _fmt(r.get("size_kb"), ".1f"), key=True),
    "params": Column("params", lambda r: _fmt(r.get("n_params"), ",")),
    "p50_xT": Column(
        "p50 ×T\n>floor",
        _p50_above_floor,
        key=True,
        legend="p50 ×T >floor: (p50 − floor p50) / (teacher p50 − floor p50); ≤ when at the floor",
    ),
    "p50_xT_raw": Column("p50 ×T\nraw", lambda r: _ratio(r, "p50"), legend="p50 ×T raw: p50 / teacher p50"),
    "size_xT": Column("size ×T", lambda r: _ratio(r, "size"), legend="size ×T: size / teacher size"),
    "params_xT": Column("params ×T", lambda r: _ratio(r, "params", ".3f")),
}


def key_columns() -> list[str]:
    return [name for name, column in COLUMNS.items() if column.key]


def pick_columns(spec: str | None) -> list[str]:
    """Column ids from `--columns`: None for the key ones, `all`, or a comma list (`model` always first)."""
    from .errors import OptionError

    if spec is None or spec.strip() == "":
        return key_columns()
    if spec.strip() == "all":
        return list(COLUMNS)
    asked = [part.strip() for part in spec.split(",") if part.strip()]
    unknown = [name for name in asked if name not in COLUMNS]
    if unknown:
        raise OptionError(
            f"--columns: no column {', '.join(map(repr, unknown))}; choose from all, {', '.join(COLUMNS)}"
        )
    return ["model", *[name for name in asked if name != "model"]]


def title(result: dict) -> str:
    m, load = result.get("machine", {}), result.get("load") or {}
    device = result.get("device")
    if device:  # measured on a board (`bench --on`): which one, first
        where = (
            f"on {device.get('name')} ({device.get('hostname')}: {device.get('cpu_model')}, {device.get('machine')}, "
            f"{device.get('cpu_count')} cores, onnxruntime {device.get('onnxruntime')}, kdedge {device.get('kdedge')})"
        )
    else:
        where = f"onnxruntime {m.get('onnxruntime')} · {m.get('machine')} · {m.get('cpu_count')} CPUs"
    text = (
        f"test split of {result.get('data', {}).get('name', '?')} ({result.get('test_samples')} samples) · "
        f"batch {result.get('batch', 1)} · {result.get('threads')} thread(s) · {where}"
    )
    if device:
        text = f"{where} · {text.removesuffix(' · ' + where)}"
    if load.get("loadavg_1m_before") is not None:
        text += f" · load {load['loadavg_1m_before']:.1f}"
    return text


def legend(result: dict, columns: list[str]) -> str:
    parts = [COLUMNS[name].legend for name in columns if COLUMNS[name].legend]
    floor = next((r for r in result.get("rows", []) if r.get("kind") == "floor"), None)
    if floor is not None:
        text = "runtime floor: an Identity graph, onnxruntime's own per-call cost"
        raw = (floor.get("memory") or {}).get("model_mb")
        if raw is not None:
            text += f" (its session: {raw:.2f} MB)"
        parts.append(text)
    parts.append("×T: ratio to the teacher; --columns all for every column")
    return ". ".join(parts) + "."


def bench_table(result: dict, console=None, columns: list[str] | None = None) -> None:
    """The bench table, its legend, any sweep table, notes and a busy-machine warning, on `console` (default:
    stdout, 100 columns wide for the key columns)."""

    from .measure.load import busy_warning

    columns = columns or key_columns()
    if console is None:  # 100 columns unless the table needs more (--columns all); never wider than the terminal
        console = console_for(_bench_rich_table(result, columns))
    table = _bench_rich_table(result, columns)
    hidden: list[str] = []
    if console.width < _needed(table):
        table = _bench_rich_table(result, columns, compact=True)
        # still too narrow for every figure: the last columns go (named below) rather than cut figures
        while _needed(_bench_rich_table(result, columns, True, 14), "minimum") > console.width and len(columns) > 2:
            hidden.insert(0, COLUMNS[columns[-1]].header.replace("\n", " "))
            columns = columns[:-1]
            table = _bench_rich_table(result, columns, compact=True)
    console.print(table)
    console.print(legend(result, columns), markup=False, highlight=False)
    if hidden:
        console.print(
            f"not shown at {console.width} columns: {', '.join(hidden)} (a wider terminal, or --json)",
            markup=False,
            highlight=False,
        )
    if len(result["rows"]) and len(result["rows"][0].get("latencies", [])) > 1:
        console.print(sweep_table(result))
    for note in result.get("notes", []):
        console.print(f"note: {note}", markup=False, highlight=False)
    warning = busy_warning(result)
    if warning:
        console.print(warning, markup=False, highlight=False)


def _needed(table, bound: str = "maximum") -> int:
    """The width `table` takes when it has room (maximum), or squeezed as far as it goes (minimum)."""
    from rich.console import Console
    from rich.measure import Measurement

    wide = Console(width=FULL_WIDTH)
    return getattr(Measurement.get(wide, wide.options, table), bound)


def _bench_rich_table(result: dict, columns: list[str], compact: bool = False, cut_names: int = 0):
    """The bench table; `compact` (it does not fit the terminal): no vertical rules and a model column that keeps
    at least 14 characters, folding long names onto more lines; figures are never broken. `cut_names` shortens
    the names, only to measure how narrow the table can go."""
    from rich import box
    from rich.table import Table

    style = {"box": box.SIMPLE_HEAD, "padding": (0, 1), "pad_edge": False, "collapse_padding": True} if compact else {}
    table = Table(title=title(result), title_justify="left", **style)
    for name in columns:
        column = COLUMNS[name]
        table.add_column(
            column.header,
            justify="left" if column.left else "right",
            overflow="fold",
            no_wrap=name != "model",
            min_width=14 if name == "model" else None,
        )
    for row in result["rows"]:
        cells = [COLUMNS[name].cell(row) for name in columns]
        table.add_row(*([cells[0][:cut_names], *cells[1:]] if cut_names else cells))
    return table


def sweep_table(result: dict):
    """One row per model, one column per (threads, batch): p50 per call and per sample."""
    from rich.table import Table

    table = Table(title="latency sweep: p50 µs per call / per sample (b = batch, t = intra-op threads)")
    table.add_column("model")
    table.add_column("prec")
    combos = [(b["threads"], b["batch"]) for b in result["rows"][0]["latencies"]]
    for threads, batch in combos:
        table.add_column(f"b{batch} t{threads}", justify="right")
    for row in result["rows"]:
        cells = [
            f"{b['p50_us']:.1f}" + (f" / {b['p50_us_per_sample']:.2f}" if b["batch"] > 1 else "")
            for b in row.get("latencies", [])
        ]
        table.add_row(row["name"], row.get("precision", "fp32"), *cells)
    return table
