"""gbdt students (LightGBM boosters) -> C with m2cgen: each booster becomes one function of nested comparisons
on a double input vector; K per-class regressors give one score each, a multiclass classifier gives K
probabilities (m2cgen applies LightGBM's softmax).

Chosen over treelite + tl2cgen for boosters by measurement (benchmarks/results/c_libraries.md): the same parity,
2x faster and ~20 % smaller on digits (tl2cgen checks a "missing" flag at every split). m2cgen walks
the model recursively, so generation runs in a thread with a large stack and a raised recursion limit (m2cgen's
documented workaround for large ensembles).
"""

from __future__ import annotations

import sys
import threading

import numpy as np

from ...students.gbdt import GBDTStudent
from .generators import CCore, c_generator

M2CGEN_HELPERS = ("softmax", "sigmoid", "add_vectors", "mul_vector_number")
GENERATOR_STACK = 512 * 1024 * 1024
RECURSION_LIMIT = 1_000_000


def _shell(booster, n_features: int, n_classes: int | None):
    """A fitted-looking LGBMRegressor / LGBMClassifier around a booster: the type m2cgen dispatches on."""
    import lightgbm

    if n_classes is None:
        model = lightgbm.LGBMRegressor()
    else:
        model = lightgbm.LGBMClassifier()
        model._n_classes, model._classes = n_classes, np.arange(n_classes)
    model._Booster, model.fitted_, model._n_features = booster, True, n_features
    return model


def _in_big_stack(fn):
    """fn() on a thread with a large stack and recursion limit: m2cgen recurses once per tree node and tree."""
    result, error = [], []
    old_limit, old_stack = sys.getrecursionlimit(), threading.stack_size()
    sys.setrecursionlimit(RECURSION_LIMIT)
    threading.stack_size(GENERATOR_STACK)
    try:
        thread = threading.Thread(target=lambda: _capture(fn, result, error))
        thread.start()
    finally:
        threading.stack_size(old_stack)
    thread.join()
    sys.setrecursionlimit(old_limit)
    if error:
        raise error[0]
    return result[0]


def _capture(fn, result, error):
    try:
        result.append(fn())
    except Exception as exc:  # re-raised in the caller's thread
        error.append(exc)


@c_generator(GBDTStudent)
def gbdt_to_c(student, prefix: str) -> CCore:
    import m2cgen

    n_features, k = int(np.prod(student.sample_shape)), student.n_classes
    classifier = student.is_classifier
    models = [_shell(b, n_features, k if classifier else None) for b in student.model]
    names = [f"{prefix}_b{i}" for i in range(len(models))]
    parts = _in_big_stack(lambda: [m2cgen.export_to_c(m, function_name=n) for m, n in zip(models, names, strict=True)])
    if classifier:
        call = f"  {names[0]}(in, out);\n"
    else:
        call = "".join(f"  out[{i}] = {name}(in);\n" for i, name in enumerate(names))
    # m2cgen's helpers are global names (softmax...): give them the run's prefix so models link side by side
    local = "\n".join(f"#define {h} {prefix}_{h}" for h in M2CGEN_HELPERS)
    code = (
        "#include <math.h>\n#include <string.h>\n"
        + local
        + "\n"
        + "\n".join(parts)
        + f"\nstatic void {prefix}_core(const float *features, float *scores) {{\n"
        f"  double in[{n_features}], out[{k}];\n"
        f"  for (int i = 0; i < {n_features}; i++) in[i] = (double)features[i];\n"
        f"{call}"
        f"  for (int i = 0; i < {k}; i++) scores[i] = (float)out[i];\n}}\n"
    )
    return CCore(code, f"m2cgen {m2cgen.__version__}")
