"""`kdedge export RUN --target c` (profiles with `format = "c"`): a C99 header/source pair in RUN/c/, written only
if, compiled for this host, it reproduces RUN/model.onnx on the test split within the family's parity tolerance;
for a profile with an `mcu`, also cross-compiled and sized (flash, RAM) and checked against its budgets.

An int8 profile (`precision = "int8-static"`, e.g. `c-int8`) writes RUN/c-int8/ instead: the C must reproduce
its own integer arithmetic (run in numpy) exactly, and its test accuracy may fall below the fp32 graph's by at most
the profile's `accuracy_budget` points.

Everything is built in a temporary folder and renamed into place, so a failed gate leaves RUN/c/ as it was.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from ... import __version__
from ..._io import atomic_dir
from ...c_variants import VARIANTS, variant_of
from ...errors import ExportError
from ...runs import Run, now
from ...students.base import Tolerance
from ..parity import compare_outputs, run_onnx
from .generators import to_c
from .source import c_prefix, header, readme, source

C_DIR = VARIANTS["fp32"].folder


def export_c(run: Run, student, profile) -> dict:
    from ...measure import c_harness

    variant = variant_of(profile)
    prefix = c_prefix(run.path.name) + variant.prefix_suffix
    n_features, n_classes = int(np.prod(student.sample_shape)), student.n_classes
    dataset = run.dataset()
    core = c_core(run, student, variant.precision, profile.calibration_size)  # no C path: one line, nothing built
    target = run.path / variant.folder
    earlier = set((getattr(run.manifest, variant.record) or {}).get("files", []))
    if _foreign_files(target, earlier):  # the previous C export's own files are replaced, nothing the user put there
        raise ExportError(
            f"{target} holds {', '.join(_foreign_files(target, earlier))}, which kdedge's C export did not write; "
            "move it out of the folder, then export again (the folder is replaced on each C export)"
        )
    onnx_path = run.require_onnx()  # the C is checked against the graph the user ships
    x_test, y_test = dataset.split("test")
    with tempfile.TemporaryDirectory(prefix="kdedge-c-export-") as tmp:
        work = Path(tmp)
        pair = work / variant.folder
        pair.mkdir()
        c_file = pair / f"{prefix}.c"
        (pair / f"{prefix}.h").write_text(
            header(prefix, run.family, core.library, n_features, n_classes, student.sample_shape, variant.precision)
        )
        c_file.write_text(source(prefix, core, n_features, n_classes))
        exe = c_harness.build(c_file, prefix, n_features, n_classes, work)
        scores, labels = c_harness.predict(exe, x_test, n_classes)
        ref_scores, ref_labels = run_onnx(onnx_path.read_bytes(), x_test)
        if core.reference is None:
            parity = compare_outputs(
                scores,
                labels,
                ref_scores,
                ref_labels,
                c_tolerance(student.parity_tolerance, ref_scores),
                f"{run.path}: the C code",
                f"the ONNX graph {onnx_path.name}",
                f"{variant.folder}/ folder",
            )
        else:
            parity = _quantized_parity(run, core, x_test, y_test, (scores, labels), (ref_scores, ref_labels), profile)
        sizes = None
        if profile.mcu:
            from .mcu import mcu_sizes

            sizes = mcu_sizes(c_file, prefix, n_features, n_classes, profile.mcu, work)
            _check_budget(run, profile, sizes)
        (pair / "README.md").write_text(readme(prefix, run.family, core.library, n_features, n_classes, parity, sizes))
        target = run.path / variant.folder
        earlier = set((getattr(run.manifest, variant.record) or {}).get("files", []))
        # the previous C export's own files are replaced; a file the user put beside them is not
        with atomic_dir(
            target, overwrite=True, made_by_kdedge=lambda p: {f.name for f in p.iterdir()} <= earlier
        ) as out:
            for f in sorted(pair.iterdir()):
                (out / f.name).write_bytes(f.read_bytes())
    info = {
        "path": str(target),
        "precision": variant.precision,
        "files": [f"{prefix}.h", f"{prefix}.c", "README.md"],
        "prefix": prefix,
        "function": f"{prefix}_predict",
        "library": core.library,
        "n_features": n_features,
        "n_classes": n_classes,
        "source_bytes": (target / f"{prefix}.c").stat().st_size,
        "parity": parity,
        "mcu": sizes,
        "exported": now(),
        "kdedge": __version__,
        "target": profile.model_dump(),
    }
    run.update(**{variant.record: info})
    return info


def c_core(run: Run, student, precision: str, calibration_size: int):
    """The student's C core at `precision`; an int8 core is calibrated on the run's train split (seeded samples,
    so the same run and size give the same core again, e.g. for the QEMU check)."""
    calibration = None
    if precision != "fp32":
        from ..quantize import calibration_samples

        x_train = run.dataset().split("train")[0]
        calibration = calibration_samples(x_train, calibration_size, run.manifest.seed)
    return to_c(student, c_prefix(run.path.name) + VARIANTS[precision].prefix_suffix, precision, calibration)


def reference_outputs(core, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What a quantized core's C must compute for raw inputs `x`: its numpy arithmetic on normalized features."""
    flat = np.asarray(x, np.float32).reshape(len(x), -1)
    offset, factor, op = core.normalize
    features = (flat - offset) / factor if op == "div" else (flat - offset) * factor
    return core.reference(np.asarray(features, np.float32))


def _quantized_parity(run: Run, core, x_test, y_test, c_out, graph_out, profile) -> dict:
    """The quantized C against its own arithmetic in numpy (exactly: same labels, scores to float32 rounding),
    then its accuracy against the fp32 graph's within the profile's budget."""
    from ..quantize import accuracy_figures

    ref_scores, ref_labels = reference_outputs(core, x_test)
    exact = Tolerance(rtol=0.0, atol=1e-6 * float(np.max(np.abs(ref_scores))), min_label_agreement=1.0)
    parity = compare_outputs(
        *c_out, ref_scores, ref_labels, exact, f"{run.path}: the int8 C code", "its integer arithmetic", "C folder"
    )
    figures = accuracy_figures(graph_out, c_out, y_test, profile.accuracy_budget)
    if not figures["within_budget"]:
        raise ExportError(
            f"{run.path}: the int8 C loses {figures['accuracy_drop_points']:.2f} points of test accuracy "
            f"({figures['fp32_accuracy']:.2%} -> {figures['int8_accuracy']:.2%} on {figures['samples']} samples), "
            f"over the {profile.accuracy_budget:g}-point budget of target '{profile.name}'; no C files written. "
            "Use fp32 C (--target c), a larger --calibration-size, or a profile with a larger accuracy_budget"
        )
    return {**parity, "against_fp32_graph": figures}


def _foreign_files(folder: Path, ours: set[str]) -> list[str]:
    return sorted(f.name for f in folder.iterdir() if f.name not in ours) if folder.is_dir() else []


def _check_budget(run: Run, profile, sizes: dict) -> None:
    over = []
    if profile.max_flash_kb is not None and sizes["flash_kb"] > profile.max_flash_kb:
        over.append(f"flash {sizes['flash_kb']:.1f} KB > {profile.max_flash_kb:g} KB")
    if profile.max_ram_kb is not None and sizes["ram_kb"] > profile.max_ram_kb:
        over.append(f"RAM {sizes['ram_kb']:.1f} KB > {profile.max_ram_kb:g} KB")
    if over:
        raise ExportError(
            f"{run.path}: the {run.family} student does not fit target '{profile.name}' on a {sizes['cpu']} "
            f"({', '.join(over)}); no C files written. Distill a smaller student (fewer trees, --max-depth, "
            "--hidden) or use a profile with larger max_flash_kb / max_ram_kb"
        )


__all__ = ["C_DIR", "c_core", "export_c", "reference_outputs"]


# float32 rounding in a sum is relative to the terms summed, not to the result: C summing in another order than
# onnxruntime shows as an absolute error on scores near zero (an MLP 64,32: 2.7e-05 on logits up to ~20, labels
# all equal). Allowed in proportion to the largest score; labels must agree as before.
C_SUM_RTOL = 1e-5


def c_tolerance(tol, ref_scores):
    scale = float(np.max(np.abs(ref_scores))) if np.size(ref_scores) else 0.0
    return replace(tol, atol=max(tol.atol, C_SUM_RTOL * scale))
