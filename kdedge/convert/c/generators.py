"""Student -> C: a registry of C generators by precision and student class (found along the class's MRO, like the
ONNX converters in kdedge.convert.converters), so students know nothing of C and a plug-in family registers its own.
An fp32 generator is `fn(student, prefix)`; an int8 one also gets `calibration`, raw train-split samples.

A generator returns a `CCore`: C99 text that defines `static void <prefix>_core(const float *features,
float *scores)` on the flattened (and, where `normalize` is set, normalized) input, writing the K scores the ONNX
graph's `scores` output holds. `kdedge.convert.c.source` wraps it in the public header/source pair.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...errors import ExportError

C_GENERATORS: dict[str, dict[type, Callable]] = {"fp32": {}, "int8": {}}


@dataclass(frozen=True)
class CCore:
    code: str
    library: str  # what wrote the model code, with its version ("emlearn 0.23.2", "kdedge (hand-written)")
    # (offset, factor, "div" | "mul"): features = (x - offset) / factor or (x - offset) * factor in float32 before
    # the core, as the graph's Normalize (torch) or Scaler (skl2onnx) computes it; None: the core takes raw inputs
    normalize: tuple[np.ndarray, np.ndarray, str] | None = None
    # what the C must reproduce exactly, from normalized float32 features -> (scores, labels); None: the ONNX
    # graph itself (fp32). A quantized core's reference is its own integer arithmetic in numpy.
    reference: Callable | None = None


def c_generator(student_cls: type, precision: str = "fp32"):
    """Register `fn(student, prefix[, calibration]) -> CCore` for `student_cls` and its subclasses."""

    def register(fn: Callable) -> Callable:
        if student_cls in C_GENERATORS[precision]:
            raise ValueError(f"a {precision} C generator for {student_cls.__name__} is registered twice")
        C_GENERATORS[precision][student_cls] = fn
        return fn

    return register


def _load_generators() -> None:
    from . import fp32_cnn, fp32_mlp, int8_cnn, int8_mlp, m2cgen_gbdt, svm_c, tl2cgen_trees  # noqa: F401  (registered)


def has_c_path(student, precision: str = "fp32") -> bool:
    _load_generators()
    return any(cls in C_GENERATORS[precision] for cls in type(student).__mro__)


def to_c(student, prefix: str, precision: str = "fp32", calibration: np.ndarray | None = None) -> CCore:
    _load_generators()
    from ...feature_maps import FeatureMap

    features = getattr(student, "feature_map", None)
    if isinstance(features, FeatureMap) and features.name != "raw":
        # the generators' models read input values; the map in front exists only as an ONNX graph so far
        raise ExportError(
            f"C export takes students on raw inputs; this {student.family} student reads --features "
            f"{features.name}: export it to ONNX, or distill one with --features raw for C"
        )
    generators = C_GENERATORS[precision]
    for cls in type(student).__mro__:
        if cls in generators:
            extra = {} if precision == "fp32" else {"calibration": calibration}
            return generators[cls](student, prefix, **extra)
    raise NoCPath(student.family, precision=precision)


def NoCPath(family: str, detail: str = "", precision: str = "fp32") -> ExportError:  # noqa: N802  (an exception)
    supported = ", ".join(sorted(_families_with_c(precision)))
    why = f" ({detail})" if detail else ""
    kind = "C" if precision == "fp32" else f"{precision} C"
    instead = "to ONNX instead (kdedge export RUN --target cpu-fp32)"
    if precision != "fp32":
        instead = "as fp32 C (--target c) or to ONNX"
    return ExportError(
        f"no {kind} export for the {family} family{why}; {kind} export supports {supported} — export this run {instead}"
    )


def c_families(precision: str = "fp32") -> set[str]:
    """The student families with a C path (what `kdedge search --target c` keeps)."""
    _load_generators()
    return _families_with_c(precision)


def _families_with_c(precision: str = "fp32") -> set[str]:
    from ...students.base import STUDENTS, student_class

    student_class("mlp")  # registers every family
    generators = C_GENERATORS[precision]
    return {name for name, cls in STUDENTS.items() if any(c in generators for c in cls.__mro__)}


def c_array(values, ctype: str = "float", per_line: int = 8) -> str:
    """`{v0, v1, ...}` with every float32 (or float64 for `double`) written so it reads back bit-exactly."""
    flat = np.asarray(values).ravel()
    if ctype == "float":
        items = [f"{float(np.float32(v))!r}f" for v in flat]
    elif ctype == "double":
        items = [f"{float(v)!r}" for v in flat]
    else:
        items = [str(int(v)) for v in flat]
    items = [i.replace("inf", "INFINITY") for i in items]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "{\n  " + ",\n  ".join(lines) + "\n}"
