"""`kdedge export` and `kdedge targets`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import JsonFlag, _print_json, app, fails_cleanly

Target = Annotated[
    str,
    typer.Option(help="Deployment target: a shipped profile name (see `kdedge targets`) or a profile .toml path."),
]


@app.command()
@fails_cleanly
def export(
    runs: Annotated[list[Path], typer.Argument(help="Run directories to export.")],
    target: Target = "cpu-fp32",
    opset: Annotated[int | None, typer.Option(help="ONNX opset (default: the target's).")] = None,
    calibration_size: Annotated[
        int | None, typer.Option(help="Train samples that calibrate int8-static (default: the target's).")
    ] = None,
    keep_slower_int8: Annotated[
        bool,
        typer.Option(
            "--keep-slower-int8",
            help="Write model.int8.onnx even when it runs slower than fp32 here (for a device whose int8 is faster).",
        ),
    ] = False,
    as_json: JsonFlag = False,
):
    """Write RUN/model.onnx (input -> scores, label), checked against the native model on the test split; an int8
    target also writes RUN/model.int8.onnx if it keeps test accuracy within the target's budget and runs faster
    than fp32 at batch 1 on this machine (else one line says why, and fp32 is kept). `--target c` (or
    mcu-cortex-m4) writes RUN/c/, a C99 pair checked against RUN/model.onnx; `--target c-int8` (or
    mcu-cortex-m4-int8, mcu-cortex-m0plus-int8) writes RUN/c-int8/, integer-only C (MLPs, CNNs) within the target's
    accuracy budget of RUN/model.onnx."""
    from ..convert.profiles import load_profile
    from ..errors import require

    profile = load_profile(target)  # a bad profile fails before any heavy import
    require("onnx")
    from ..convert import export_run
    from ..runs import Run

    for run in runs:  # every run named is a run before the first is exported: a typo does not leave half the work
        Run.load(run)
    results = {}
    for run in runs:
        info = export_run(
            run, opset=opset, target=profile, calibration_size=calibration_size, keep_slower_int8=keep_slower_int8
        )
        results[str(run)] = info
        if not as_json:
            _echo(info)
    if as_json:
        _print_json(results)


def _echo(info: dict) -> None:
    if "prefix" in info:  # a C export
        _echo_c(info)
        return
    if "files" in info and isinstance(info["files"], dict):  # an app export (mobile, web)
        _echo_app(info)
        return
    p = info["parity"]
    typer.echo(
        f"{info['path']}: {info['bytes'] / 1024:.1f} KB, opset {info['opset']}, target {info['target']['name']}, "
        f"parity on {p['samples']} test samples: max abs diff {p['max_abs_diff']:.2g}, "
        f"labels {p['label_agreement']:.2%}"
    )
    q = info.get("int8")
    if q:
        typer.echo(
            f"{q['path']}: {q['bytes'] / 1024:.1f} KB, {q['scheme']}; test accuracy {q['fp32_accuracy']:.2%} fp32 -> "
            f"{q['int8_accuracy']:.2%} int8 (drop {q['accuracy_drop_points']:.2f} points, budget "
            f"{q['budget_points']:g}), agreement with fp32 {q['agreement_with_fp32']:.2%}"
            + (
                f"; p50 {q['speed']['int8_p50_us']:.1f} µs int8 vs {q['speed']['fp32_p50_us']:.1f} µs fp32 (batch 1)"
                if q.get("speed")
                else ""
            )
        )
    if info.get("int8_skipped"):
        typer.echo(info["int8_skipped"])
    if info.get("note"):
        typer.echo(f"note: {info['note']}")


def _echo_app(info: dict) -> None:
    if info.get("onnx_export"):
        _echo(info["onnx_export"])
    sizes = ", ".join(f"{name} {size / 1024:.1f} KB" for name, size in info["files"].items() if "/" not in name)
    typer.echo(f"{info['path']}/: {sizes} ({info['runtime']})")
    for name, p in info["parity"].items():
        typer.echo(
            f"{name}: parity with {info['sources'][name]} on {p['samples']} test samples: max abs diff "
            f"{p['max_abs_diff']:.2g}, labels {p['label_agreement']:.2%}, test accuracy {p['test_accuracy']:.2%}"
        )
    if info.get("check"):
        typer.echo(info["check"])


def _echo_c(info: dict) -> None:
    p = info["parity"]
    graph = p.get("against_fp32_graph")  # an int8 C: exact against its own arithmetic, accuracy against the graph
    checked = (
        f"parity with model.onnx on {p['samples']} test samples compiled for this host: max abs diff "
        f"{p['max_abs_diff']:.2g}, labels {p['label_agreement']:.2%}"
        if graph is None
        else f"compiled for this host, equal to kdedge's int8 arithmetic on {p['samples']} test samples (max abs "
        f"diff {p['max_abs_diff']:.2g}); test accuracy {graph['int8_accuracy']:.2%} vs model.onnx "
        f"{graph['fp32_accuracy']:.2%}, labels {graph['agreement_with_fp32']:.2%} equal"
    )
    typer.echo(
        f"{info['path']}/{info['prefix']}.h, .c: {info['source_bytes'] / 1024:.1f} KB of C ({info['library']}), "
        f"{checked}; call {info['function']}(input, scores)"
    )
    m = info.get("mcu")
    if m:
        s = m["sections_bytes"]
        typer.echo(
            f"{m['cpu']}: flash {m['flash_kb']:.1f} KB (text {s['text']} + rodata {s['rodata']} + data {s['data']} B), "
            f"RAM {m['ram_kb']:.2f} KB (data+bss {m['static_ram_bytes']} B + stack {m['stack_bytes']} B)"
        )


@app.command()
@fails_cleanly
def targets(as_json: JsonFlag = False):
    """List the shipped deployment targets (export profiles)."""
    from ..convert.profiles import list_profiles

    profiles = list_profiles()
    if as_json:
        _print_json([p.model_dump() for p in profiles])
        return
    from rich.table import Table

    from ..table import console_for

    table = Table(title="export targets (kdedge export RUN --target NAME)")
    for col in ("name", "precision", "opset", "threads", "batch", "description"):
        table.add_column(col)
    for p in profiles:
        c = p.format == "c"  # a C pair: no opset; fp32 C code
        table.add_row(
            p.name,
            f"C99 {p.precision}" + (f", {p.mcu}" if p.mcu else "") if c else p.precision,
            "—" if c else str(p.opset),
            ",".join(map(str, p.intra_op_threads)),
            ",".join(map(str, p.batch_sizes)),
            p.description,
        )
    console_for(table, widest=160).print(table)
