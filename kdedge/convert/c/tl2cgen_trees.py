"""Tree students (tree, forest: scikit-learn) -> C with treelite + tl2cgen, the tree-ensemble compiler: one if/else
nest per tree, thresholds and leaves as constants, K outputs per leaf (kdedge's multi-output trees). It takes
LightGBM boosters too; kdedge writes gbdt students with m2cgen instead (kdedge.convert.c.m2cgen_gbdt).

tl2cgen writes `header.h` + `main.c` with fixed global names (predict, union Entry...); each model's text is
wrapped in #defines that give its names the run's prefix, so several models (gbdt's K per-class boosters, or
several students in one firmware) share one translation unit and link together.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ...students.forest import ForestStudent
from ...students.gbdt import GBDTStudent
from ...students.tree import TreeStudent
from .generators import CCore, c_generator

# every global name tl2cgen 1.0's C output defines
TL2CGEN_NAMES = (
    "predict",
    "postprocess",
    "get_num_target",
    "get_num_class",
    "get_num_feature",
    "get_threshold_type",
    "get_leaf_output_type",
    "num_class",
)


def _sklearn_models(student) -> list:
    """treelite imports forests, not single trees: a tree is a forest of one (its mean is the tree)."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.tree import DecisionTreeClassifier

    final = student.model.steps[-1][1]
    if not hasattr(final, "tree_"):
        return [final]
    shell = (RandomForestClassifier if isinstance(final, DecisionTreeClassifier) else RandomForestRegressor)(
        n_estimators=1
    )
    shell.estimators_ = [final]
    shell.n_outputs_ = final.n_outputs_
    shell.n_features_in_ = final.n_features_in_
    if hasattr(final, "classes_"):
        shell.classes_, shell.n_classes_ = final.classes_, final.n_classes_
    return [shell]


def _treelite_models(student) -> list:
    import treelite

    with _quiet():
        if isinstance(student, GBDTStudent):
            return [treelite.frontend.from_lightgbm(booster) for booster in student.model]
        return [treelite.sklearn.import_model(m) for m in _sklearn_models(student)]


@contextmanager
def _quiet():
    """treelite and tl2cgen print their C++ log lines to stdout on every call ("Parallel compilation disabled",
    "originated from a newer Treelite version"), which would corrupt `--json`; show them only on a failure."""
    log = io.StringIO()
    sys.stderr.flush()
    saved = os.dup(2)  # tl2cgen's bundled treelite also writes to file descriptor 2 from C++
    try:
        with tempfile.TemporaryFile() as err, contextlib.redirect_stdout(log):
            os.dup2(err.fileno(), 2)
            try:
                yield
            except BaseException:
                os.dup2(saved, 2)
                err.seek(0)
                sys.stderr.write(log.getvalue() + err.read().decode(errors="replace"))
                raise
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _generate(model) -> tuple[str, str, int]:
    """(header.h, main.c, outputs per row) from tl2cgen, compiled into one file without parallel units."""
    import tl2cgen

    with tempfile.TemporaryDirectory(prefix="kdedge-tl2cgen-") as tmp, _quiet():
        tl2cgen.generate_c_code(model, tmp, params={"parallel_comp": 0, "quantize": 0}, verbose=False)
        header, main = (Path(tmp) / "header.h").read_text(), (Path(tmp) / "main.c").read_text()
    n_target = int(re.search(r"#define N_TARGET (\d+)", header).group(1))
    max_class = int(re.search(r"#define MAX_N_CLASS (\d+)", header).group(1))
    return header, main, n_target * max_class


def tl2cgen_core(models: list, prefix: str, n_features: int, n_classes: int) -> CCore:
    import tl2cgen
    import treelite

    blocks, calls, column = [], [], 0
    for k, model in enumerate(models):
        header, main, width = _generate(model)
        if k:  # one `union Entry` for all models: the first block defines it
            header = re.sub(r"union Entry \{.*?\};", "", header, flags=re.S)
        names = {name: f"{prefix}_m{k}_{name}" for name in TL2CGEN_NAMES}
        defines = "\n".join(f"#define {a} {b}" for a, b in names.items())
        undefs = "\n".join(f"#undef {a}" for a in [*names, "N_TARGET", "MAX_N_CLASS"])
        body = main.replace('#include "header.h"', "")
        blocks.append(
            f"/* ---- model {k}: tl2cgen {tl2cgen.__version__} ---- */\n{defines}\n{header}\n{body}\n{undefs}"
        )
        calls.append(
            f"  {{\n    double out[{width}] = {{0}};\n    {names['predict']}(data, 0, out);\n"
            f"    for (int k = 0; k < {width}; k++) scores[{column} + k] = (float)out[k];\n  }}"
        )
        column += width
    if column != n_classes:
        raise ValueError(f"the tree models give {column} outputs per row, the student has {n_classes} classes")
    code = (
        "#define Entry kdedge_tl2cgen_Entry\n"
        + "\n".join(blocks)
        + f"\nstatic void {prefix}_core(const float *features, float *scores) {{\n"
        f"  union Entry data[{n_features}];\n"
        f"  for (int i = 0; i < {n_features}; i++) data[i].fvalue = (double)features[i];\n"
        + "\n".join(calls)
        + "\n}\n#undef Entry\n"
    )
    return CCore(code, f"treelite {treelite.__version__} + tl2cgen {tl2cgen.__version__}")


@c_generator(TreeStudent)
@c_generator(ForestStudent)
def trees_to_c(student, prefix: str) -> CCore:
    """Also takes gbdt students (kdedge writes those with m2cgen, measured faster; benchmarks/c_libraries.py
    compares both)."""
    return tl2cgen_core(_treelite_models(student), prefix, int(np.prod(student.sample_shape)), student.n_classes)
