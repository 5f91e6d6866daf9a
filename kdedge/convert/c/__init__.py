"""`kdedge export RUN --target c` (profiles with `format = "c"`): a C99 header/source pair in RUN/c/, written only
if, compiled for this host, it reproduces RUN/model.onnx on the test split within the family's parity tolerance;
for a profile with an `mcu`, also cross-compiled and sized (flash, RAM) and checked against its budgets.

Everything is built in a temporary folder and renamed into place, so a failed gate leaves RUN/c/ as it was.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from ... import __version__
from ..._io import atomic_dir
from ...errors import ExportError
from ...runs import Run, now
from ..parity import compare_outputs, run_onnx
from .generators import to_c
from .source import c_prefix, header, readme, source

C_DIR = "c"


def export_c(run: Run, student, profile) -> dict:
    from ...measure import c_harness

    prefix = c_prefix(run.path.name)
    n_features, n_classes = int(np.prod(student.sample_shape)), student.n_classes
    core = to_c(student, prefix)  # no C path: one clear error before anything is compiled
    onnx_path = run.require_onnx()  # the C is checked against the graph the user ships
    x_test, _ = run.dataset().split("test")
    with tempfile.TemporaryDirectory(prefix="kdedge-c-export-") as tmp:
        work = Path(tmp)
        pair = work / C_DIR
        pair.mkdir()
        c_file = pair / f"{prefix}.c"
        (pair / f"{prefix}.h").write_text(
            header(prefix, run.family, core.library, n_features, n_classes, student.sample_shape)
        )
        c_file.write_text(source(prefix, core, n_features, n_classes))
        exe = c_harness.build(c_file, prefix, n_features, n_classes, work)
        scores, labels = c_harness.predict(exe, x_test, n_classes)
        ref_scores, ref_labels = run_onnx(onnx_path.read_bytes(), x_test)
        parity = compare_outputs(
            scores,
            labels,
            ref_scores,
            ref_labels,
            c_tolerance(student.parity_tolerance, ref_scores),
            f"{run.path}: the C code",
            f"the ONNX graph {onnx_path.name}",
            f"{C_DIR}/ folder",
        )
        sizes = None
        if profile.mcu:
            from .mcu import mcu_sizes

            sizes = mcu_sizes(c_file, prefix, n_features, n_classes, profile.mcu, work)
            _check_budget(run, profile, sizes)
        (pair / "README.md").write_text(readme(prefix, run.family, core.library, n_features, n_classes, parity, sizes))
        target = run.path / C_DIR
        with atomic_dir(target, overwrite=True) as out:
            for f in sorted(pair.iterdir()):
                (out / f.name).write_bytes(f.read_bytes())
    info = {
        "path": str(target),
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
    run.update(c_export=info)
    return info


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


__all__ = ["C_DIR", "export_c"]


# float32 rounding in a sum is relative to the terms summed, not to the result: C summing in another order than
# onnxruntime shows as an absolute error on scores near zero (an MLP 64,32: 2.7e-05 on logits up to ~20, labels
# all equal). Allowed in proportion to the largest score; labels must agree as before.
C_SUM_RTOL = 1e-5


def c_tolerance(tol, ref_scores):
    scale = float(np.max(np.abs(ref_scores))) if np.size(ref_scores) else 0.0
    return replace(tol, atol=max(tol.atol, C_SUM_RTOL * scale))
