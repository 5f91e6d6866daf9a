"""How a trial's student is exported and measured, by the export format of the search's target: a registry, so a
new format is one function. Both go through `kdedge export` and `kdedge bench`'s own functions on the validation
split; the search measures nothing its own way.

- onnx: RUN/model.onnx (or the profile's graph), timed by onnxruntime, memory in a fresh process.
- c: RUN/model.onnx first (the C is parity-checked against it), then the C pair in RUN/c/, timed by the compiled C
  harness, and flash and RAM from the arm-none-eabi cross-compile of that pair (when the toolchain is here).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import OptionError

MEASURERS: dict[str, Callable] = {}


def measurer(fmt: str):
    def register(fn: Callable) -> Callable:
        MEASURERS[fmt] = fn
        return fn

    return register


def target_format(target: str | None) -> str:
    from ..convert.profiles import load_profile

    return load_profile(target).format if target else "onnx"


def _agreement(onnx_path: Path, x_val, teacher_labels) -> float:
    from ..measure.quality import predict

    _, labels = predict(onnx_path, x_val)
    return float(np.mean(labels == teacher_labels))


@measurer("onnx")
def measure_onnx(run, target, x_val, y_val, teacher_labels, min_seconds: float, bench_row=None) -> dict:
    """`bench_row(entry)`: where the graph is benched (a board over SSH); None: here."""
    from ..convert import export_run
    from ..measure import Entry, bench

    export_run(run.path, **({"target": target} if target else {}))
    entry = Entry(run.name, run.path / "model.onnx")
    if bench_row is not None:
        row = bench_row(entry)
    else:
        row = bench([entry], x_val, y_val, memory=True, floor=False, latency_options={"min_seconds": min_seconds})[
            "rows"
        ][0]
    return {
        "val_accuracy": row["accuracy"],
        "agreement": _agreement(run.path / "model.onnx", x_val, teacher_labels),
        "p50_us": row["latency"]["p50_us"],
        "size_kb": row["size_kb"],
        "memory_mb": row["memory"]["model_mb"],
        "n_params": row["n_params"],
    }


def c_profile(target):
    """The search's C profile: its own flash/RAM limits become search budgets (so an over-budget trial is a
    measured point marked as breaking them, not a failed export), and it always sizes for a Cortex-M4 when the
    cross-compiler is here."""
    from ..convert.c.mcu import toolchain_missing
    from ..convert.profiles import load_profile

    profile = load_profile(target)
    mcu = profile.mcu or (None if toolchain_missing() else "cortex-m4")
    return profile.model_copy(update={"mcu": mcu, "max_flash_kb": None, "max_ram_kb": None})


@measurer("c")
def measure_c(run, target, x_val, y_val, teacher_labels, min_seconds: float, bench_row=None) -> dict:
    from ..convert import export_run
    from ..measure import CEntry, bench

    export_run(run.path)  # the ONNX graph the C is checked against
    info = export_run(run.path, target=c_profile(target))
    row = bench(
        [], x_val, y_val, memory=False, floor=False, latency_options={"min_seconds": min_seconds},
        c_entries=[CEntry(run.name, info, run.path / "model.onnx")],
    )["rows"][0]  # fmt: skip
    mcu = info.get("mcu") or {}
    return {
        "val_accuracy": row["accuracy"],
        # from the graph: the parity gate just held the C's labels to the graph's on the test split
        "agreement": _agreement(run.path / "model.onnx", x_val, teacher_labels),
        "p50_us": row["latency"]["p50_us"],  # timed in C, one call per sample
        "size_kb": (run.path / "model.onnx").stat().st_size / 1024,
        "memory_mb": None,
        "flash_kb": mcu.get("flash_kb"),
        "ram_kb": mcu.get("ram_kb"),
        "n_params": row["n_params"],
    }


def second_cost(figures: dict) -> float:
    """The size objective: flash on a Cortex-M4 where measured (C trials), else the ONNX file."""
    return figures["flash_kb"] if figures.get("flash_kb") is not None else figures["size_kb"]


def profile_budgets(target: str | None) -> dict[str, float]:
    """A C profile's own limits (mcu-cortex-m4: 256 KB flash, 64 KB RAM), as search budgets."""
    if target_format(target) != "c":
        return {}
    from ..convert.profiles import load_profile

    profile = load_profile(target)
    limits = {"max_flash_kb": profile.max_flash_kb, "max_ram_kb": profile.max_ram_kb}
    return {k: v for k, v in limits.items() if v is not None}


def check_target(target: str | None, budget, space: dict[str, dict]) -> tuple[dict, dict[str, str]]:
    """(the space narrowed to families the target can export, {skipped family: why}); refuses budgets the target
    does not measure, and flash/RAM budgets without the cross-compiler (one line saying how to install it)."""
    fmt = target_format(target)
    if fmt not in MEASURERS:
        raise OptionError(f"--target {target}: the search measures {', '.join(MEASURERS)} exports, not {fmt}")
    budget.check_format(fmt)
    if fmt != "c":
        return space, {}
    from ..c_variants import variant_of
    from ..convert.c.generators import c_families
    from ..convert.c.mcu import toolchain_missing
    from ..convert.profiles import load_profile
    from ..measure.c_harness import compiler

    compiler()  # no C compiler: one line, before any trial
    if toolchain_missing() and (
        load_profile(target).mcu or any(kind.figure in ("flash_kb", "ram_kb") for kind, _ in budget.kinds())
    ):
        raise OptionError(f"--target {target} with flash / RAM figures: {toolchain_missing()}")
    precision = variant_of(load_profile(target)).precision
    supported = c_families(precision)  # int8 C: the families with an int8 path
    kind = "C" if precision == "fp32" else f"{precision} C"
    article = "an" if kind.startswith("int8") else "a"
    skipped = {
        family: f"no {kind} export for {family} ({kind} export supports {', '.join(sorted(supported))})"
        for family in space
        if family not in supported
    }
    # C generators read raw inputs: a fixed input map in front (kdedge.feature_maps) exists only as ONNX so far
    kept = {
        family: {**choices, **({"features": ["raw"]} if "features" in choices else {})}
        for family, choices in space.items()
        if family not in skipped
    }
    if not kept:
        raise OptionError(
            f"--target {target}: none of the searched families ({', '.join(space)}) has {article} {kind} export; "
            f"search {', '.join(sorted(supported))} (--families)"
        )
    return kept, skipped
