"""The C exports a run can hold, one per precision: where each lives in the run folder, which manifest field
records it, what its bench rows are called. One table, read by export, bench, the board and the QEMU check."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import OptionError


@dataclass(frozen=True)
class CVariant:
    precision: str  # "fp32" | "int8": the generators' registry key and the bench row's precision
    folder: str  # RUN/<folder>/ holds the pair
    record: str  # the manifest field with its export record
    row_suffix: str  # bench row name: "<run> C", "<run> C int8"
    prefix_suffix: str  # C names: kdedge_<run>_predict, kdedge_<run>_int8_predict (both can be linked together)


VARIANTS = {
    "fp32": CVariant("fp32", "c", "c_export", " C", ""),
    "int8": CVariant("int8", "c-int8", "c_int8_export", " C int8", "_int8"),
}
# a C profile's `precision` -> the variant it writes (int8-static: calibrated on the train split, as the ONNX one)
BY_PROFILE_PRECISION = {"fp32": "fp32", "int8-static": "int8"}


def variant_of(profile) -> CVariant:
    try:
        return VARIANTS[BY_PROFILE_PRECISION[profile.precision]]
    except KeyError:
        raise OptionError(
            f"target '{profile.name}': C export has no {profile.precision} variant; use precision = "
            f'{" or ".join(repr(p) for p in BY_PROFILE_PRECISION)} in a format = "c" profile'
        ) from None


__all__ = ["VARIANTS", "CVariant", "variant_of"]
