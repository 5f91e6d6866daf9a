"""Device budgets: which measured figures a student must stay within."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import OptionError


@dataclass(frozen=True)
class Budget:
    max_latency_us: float | None = None  # batch-1 p50 on this machine
    max_size_kb: float | None = None  # ONNX file
    max_memory_mb: float | None = None  # peak of the bench's fresh process, minus the empty-process baseline
    min_agreement: float | None = None  # with the teacher, 0..1, on the validation split

    def __post_init__(self):
        for name, value in asdict(self).items():
            if value is not None and value <= 0:
                raise OptionError(f"--{name.replace('_', '-')} must be positive, got {value}")
        if self.min_agreement is not None and self.min_agreement > 1:
            raise OptionError(f"--min-agreement is a fraction in (0, 1], got {self.min_agreement}")

    def violations(self, figures: dict) -> dict[str, float]:
        """One number per budget, <= 0 when met (the form Optuna's trial constraints take)."""
        return {
            label: measured - limit if kind == "max" else limit - measured
            for kind, label, measured, limit in self._checks(figures)
        }

    def broken(self, figures: dict) -> list[str]:
        """Human-readable list of the budgets `figures` break."""
        out = []
        for kind, label, measured, limit in self._checks(figures):
            over = measured > limit if kind == "max" else measured < limit
            if over:
                out.append(f"{label} {measured:.4g} {'>' if kind == 'max' else '<'} {limit:.4g}")
        return out

    def _checks(self, f: dict):
        table = [
            ("max", "p50 µs", f.get("p50_us"), self.max_latency_us),
            ("max", "size KB", f.get("size_kb"), self.max_size_kb),
            ("max", "memory MB", f.get("memory_mb"), self.max_memory_mb),
            ("min", "agreement", f.get("agreement"), self.min_agreement),
        ]
        return [row for row in table if row[3] is not None and row[2] is not None]

    def describe(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}
