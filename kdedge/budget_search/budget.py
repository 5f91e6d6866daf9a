"""Device budgets: which measured figures a student must stay within.

Each budget is registered once (its option, the trial figure it bounds, in which direction, and which export
formats measure that figure); the CLI flags, the checks, the tables and the plot's shading all read the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import OptionError


@dataclass(frozen=True)
class BudgetKind:
    option: str  # max_latency_us: the keyword, and --max-latency-us
    figure: str  # the trial figure it bounds (report.COLUMNS)
    bound: str  # "max" | "min"
    label: str  # short, in tables and the `broken` list: "p50 µs"
    words: str  # in plain words, for titles and axes: "batch-1 p50 latency"
    unit: str  # "µs", "" for fractions
    help: str
    formats: tuple[str, ...] = ("onnx", "c")  # export formats whose trials measure this figure
    instead: str = ""  # what to use under another format

    @property
    def flag(self) -> str:
        return "--" + self.option.replace("_", "-")

    def shown(self, value: float) -> str:
        """`p50 ≤ 40 µs`, `agreement ≥ 95 %`."""
        sign = "≤" if self.bound == "max" else "≥"
        if self.unit == "%":
            return f"{self.words} {sign} {100 * value:g} %"
        return f"{self.words} {sign} {value:g} {self.unit}".rstrip()


BUDGETS: dict[str, BudgetKind] = {}


def register_budget(kind: BudgetKind) -> BudgetKind:
    if kind.option in BUDGETS:
        raise ValueError(f"budget {kind.option} registered twice")
    BUDGETS[kind.option] = kind
    return kind


register_budget(BudgetKind("max_latency_us", "p50_us", "max", "p50 µs", "p50", "µs",
                           "Budget: batch-1 p50 on this machine, µs (under --target c: timed in C)."))  # fmt: skip
register_budget(BudgetKind("max_size_kb", "size_kb", "max", "size KB", "size", "KB",
                           "Budget: ONNX file size, KB (a C export on a Cortex-M4: --max-flash-kb)."))  # fmt: skip
register_budget(BudgetKind("max_memory_mb", "memory_mb", "max", "memory MB", "memory", "MB",
                           "Budget: peak memory of the bench process above an empty one, MB.", ("onnx",),
                           "it is onnxruntime's process memory; under --target c use --max-ram-kb"))  # fmt: skip
register_budget(BudgetKind("max_flash_kb", "flash_kb", "max", "flash KB", "flash", "KB",
                           "Budget: Cortex-M4 flash (text+rodata+data) of the C export, KB; needs --target c.",
                           ("c",), "flash is measured on the C export: add --target c"))  # fmt: skip
register_budget(BudgetKind("max_ram_kb", "ram_kb", "max", "RAM KB", "RAM", "KB",
                           "Budget: Cortex-M4 RAM (data+bss+stack) of the C export, KB; needs --target c.",
                           ("c",), "RAM is measured on the C export: add --target c"))  # fmt: skip
register_budget(BudgetKind("min_agreement", "agreement", "min", "agreement", "agreement with the teacher", "%",
                           "Budget: agreement with the teacher on the validation split, 0..1."))  # fmt: skip


class Budget:
    """The limits a search was given, by budget option: `Budget(max_latency_us=40, max_size_kb=256)`."""

    def __init__(self, **limits):
        unknown = sorted(set(limits) - set(BUDGETS))
        if unknown:
            raise OptionError(f"unknown budget {unknown[0]!r}; budgets are {', '.join(BUDGETS)}")
        self.limits = {k: float(v) for k, v in limits.items() if v is not None}
        for name, value in self.limits.items():
            if value <= 0:
                raise OptionError(f"{BUDGETS[name].flag} must be positive, got {value:g}")
        if self.limits.get("min_agreement", 0) > 1:
            raise OptionError(f"--min-agreement is a fraction in (0, 1], got {self.limits['min_agreement']:g}")

    def kinds(self) -> list[tuple[BudgetKind, float]]:
        return [(BUDGETS[name], value) for name, value in self.limits.items()]

    def limit(self, option: str) -> float | None:
        return self.limits.get(option)

    def check_format(self, fmt: str) -> None:
        """Refuse a budget the trials of this export format do not measure, naming what to use instead."""
        for kind, _ in self.kinds():
            if fmt not in kind.formats:
                raise OptionError(f"{kind.flag}: not measured for {fmt} exports; {kind.instead}")

    def violations(self, figures: dict) -> dict[str, float]:
        """One number per budget, <= 0 when met (the form Optuna's trial constraints take)."""
        return {kind.label: over for kind, over in self._overs(figures)}

    def broken(self, figures: dict) -> list[str]:
        """Human-readable list of the budgets `figures` break."""
        return [
            f"{kind.label} {measured:.4g} {'>' if kind.bound == 'max' else '<'} {limit:.4g}"
            for kind, measured, limit in self._checks(figures)
            if (measured > limit if kind.bound == "max" else measured < limit)
        ]

    def overshoot(self, figures: dict) -> float:
        """Relative overshoot summed over the budgets `figures` break (0 when all are met): how far from fitting."""
        return sum(max(0.0, over) / self.limits[kind.option] for kind, over in self._overs(figures))

    def _overs(self, figures: dict) -> list[tuple[BudgetKind, float]]:
        """(budget, measured minus limit for a max, limit minus measured for a min): > 0 when broken."""
        return [
            (kind, measured - limit if kind.bound == "max" else limit - measured)
            for kind, measured, limit in self._checks(figures)
        ]

    def _checks(self, figures: dict):
        return [
            (kind, figures[kind.figure], limit) for kind, limit in self.kinds() if figures.get(kind.figure) is not None
        ]

    def describe(self) -> dict:
        return dict(self.limits)

    def words(self) -> str:
        """`p50 ≤ 40 µs, size ≤ 256 KB`, or `none`."""
        return ", ".join(kind.shown(limit) for kind, limit in self.kinds()) or "none"
