"""Render bench results as a rich table (stdout)."""

from __future__ import annotations


def _fmt(value, spec: str, missing: str = "—") -> str:
    return missing if value is None else format(value, spec)


def bench_table(result: dict, console=None) -> None:
    """The bench table, its legend, any sweep table and notes, on `console` (default: stdout, 200 columns)."""
    from rich.console import Console
    from rich.table import Table

    m = result["machine"]
    table = Table(
        title=f"test split of {result['data']['name']} ({result['test_samples']} samples) · "
        f"batch {result.get('batch', 1)} · {result['threads']} thread(s) · onnxruntime {m['onnxruntime']} · "
        f"{m['machine']}"
    )
    for col in (
        "model",
        "family",
        "prec",
        "acc %",
        "agree %",
        "KL",
        "p50 µs",
        "p90 µs",
        "p99 µs",
        "first µs",
        "init ms",
        "mem MB",
        "size KB",
        "params",
        "p50 ×T",
        "size ×T",
        "params ×T",
    ):
        table.add_column(col, justify="left" if col in ("model", "family", "prec") else "right")
    for row in result["rows"]:
        lat, ratios = row["latency"], row.get("vs_teacher", {})
        mem = row.get("memory")
        name = row["name"] + (" (teacher)" if row["kind"] == "teacher" else "")
        table.add_row(
            name,
            row["family"],
            row.get("precision", "fp32"),
            _fmt(row.get("accuracy") and 100 * row["accuracy"], ".2f"),
            _fmt(row.get("agreement") and 100 * row["agreement"], ".2f"),
            _fmt(row.get("kl_teacher"), ".3f"),
            f"{lat['p50_us']:.1f}",
            f"{lat['p90_us']:.1f}",
            f"{lat['p99_us']:.1f}",
            f"{lat['first_run_us']:.0f}",
            _fmt(lat.get("session_init_ms"), ".1f"),  # C rows: no session
            _fmt(mem and mem["model_mb"], ".2f"),
            _fmt(row.get("size_kb"), ".1f"),
            _fmt(row.get("n_params"), ","),
            _fmt(ratios.get("p50"), ".2f"),
            _fmt(ratios.get("size"), ".2f"),
            _fmt(ratios.get("params"), ".3f"),
        )
    console = console or Console(width=200)
    console.print(table)
    console.print(
        "mem MB: peak RSS of a fresh process that loads and runs the model, minus one that only imports "
        "onnxruntime. KL: KL(teacher ‖ student) in nats, for students whose scores are logits. ×T: ratio to the "
        "teacher. runtime floor: an Identity graph, onnxruntime's own per-call cost.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if len(result["rows"]) and len(result["rows"][0].get("latencies", [])) > 1:
        console.print(sweep_table(result))
    for note in result.get("notes", []):
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)


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
            for b in row["latencies"]
        ]
        table.add_row(row["name"], row.get("precision", "fp32"), *cells)
    return table
