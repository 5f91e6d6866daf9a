"""Student -> C: a registry of C generators by student class (found along the class's MRO, like the ONNX converters
in kdedge.convert.converters), so students know nothing of C and a plug-in family registers its own.

A generator returns a `CCore`: C99 text that defines `static void <prefix>_core(const float *features,
float *scores)` on the flattened (and, where `normalize` is set, normalized) input, writing the K scores the ONNX
graph's `scores` output holds. `kdedge.convert.c.source` wraps it in the public header/source pair.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...errors import ExportError

C_GENERATORS: dict[type, Callable] = {}


@dataclass(frozen=True)
class CCore:
    code: str
    library: str  # what wrote the model code, with its version ("emlearn 0.23.2", "kdedge (hand-written)")
    # (offset, factor, "div" | "mul"): features = (x - offset) / factor or (x - offset) * factor in float32 before
    # the core, as the graph's Normalize (torch) or Scaler (skl2onnx) computes it; None: the core takes raw inputs
    normalize: tuple[np.ndarray, np.ndarray, str] | None = None


def c_generator(student_cls: type):
    """Register `fn(student, prefix) -> CCore` for `student_cls` and its subclasses."""

    def register(fn: Callable) -> Callable:
        if student_cls in C_GENERATORS:
            raise ValueError(f"a C generator for {student_cls.__name__} is registered twice")
        C_GENERATORS[student_cls] = fn
        return fn

    return register


def _load_generators() -> None:
    from . import emlearn_mlp, m2cgen_gbdt, svm_c, tl2cgen_trees  # noqa: F401  (register themselves)


def has_c_path(student) -> bool:
    _load_generators()
    return any(cls in C_GENERATORS for cls in type(student).__mro__)


def to_c(student, prefix: str) -> CCore:
    _load_generators()
    from ...feature_maps import FeatureMap

    features = getattr(student, "feature_map", None)
    if isinstance(features, FeatureMap) and features.name != "raw":
        # the generators' models read input values; the map in front exists only as an ONNX graph so far
        raise ExportError(
            f"C export takes students on raw inputs; this {student.family} student reads --features "
            f"{features.name}: export it to ONNX, or distill one with --features raw for C"
        )
    for cls in type(student).__mro__:
        if cls in C_GENERATORS:
            return C_GENERATORS[cls](student, prefix)
    raise NoCPath(student.family)


def NoCPath(family: str, detail: str = "") -> ExportError:  # noqa: N802  (reads as an exception where raised)
    supported = ", ".join(sorted(_families_with_c()))
    why = f" ({detail})" if detail else ""
    return ExportError(
        f"no C export for the {family} family{why}; C export supports {supported} — export this run to ONNX "
        "instead (kdedge export RUN --target cpu-fp32)"
    )


def c_families() -> set[str]:
    """The student families with a C path (what `kdedge search --target c` keeps)."""
    _load_generators()
    return _families_with_c()


def _families_with_c() -> set[str]:
    from ...students.base import STUDENTS, student_class

    student_class("mlp")  # registers every family
    return {name for name, cls in STUDENTS.items() if any(c in C_GENERATORS for c in cls.__mro__)}


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
