"""SVM students (one SVR per class, rbf / poly / linear kernel) -> C, written by kdedge.

Hand-written because no maintained library does it at this size: m2cgen 0.10 (last release 2022) unrolls every
support vector into one expression per class, and on a digits SVM (10 SVRs over 1,060 shared support vectors)
it had written no code after 120 s (benchmarks/results/c_libraries.md), for an rbf or a linear kernel. The C
mirrors kdedge's own ONNX converter (kdedge.convert.sklearn_onnx): the StandardScaler in float32, then
scores = k(x, SV) @ W + b in double over the union of the classes' support vectors, stored once as float32;
a linear kernel folds into one (D, K) matrix.
"""

from __future__ import annotations

from ...students.svm import SVMStudent
from .generators import CCore, NoCPath, c_array, c_generator


@c_generator(SVMStudent)
def svm_to_c(student, prefix: str) -> CCore:
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.svm import SVR

    from ..sklearn_onnx import shared_support

    steps = dict(student.model.steps)
    final = steps["model"]
    if "features" in steps or not isinstance(final, MultiOutputRegressor):
        what = "--approx nystroem" if "features" in steps else "an SVC trained on labels (--method hard)"
        raise NoCPath("svm", f"{what} has no C generator; distill the SVM with --approx none and a teacher method")
    svrs = final.estimators_
    if not all(isinstance(s, SVR) for s in svrs):
        raise NoCPath("svm", "only one SVR per class is supported")
    scaler = steps["scale"]
    points, weights, intercepts = shared_support(svrs)
    first = svrs[0]
    kernel = first.kernel
    n_features, n_classes = points.shape[1], weights.shape[1]
    decl = f"static const double {prefix}_b[{n_classes}] = {c_array(intercepts, 'double')};\n"
    if kernel == "linear":
        folded = points.T @ weights  # (D, K): sum_m (x . sv_m) w_mk = x . (SV^T W)_k
        decl += f"static const double {prefix}_w[{n_features * n_classes}] = {c_array(folded, 'double')};\n"
        body = (
            f"  for (int k = 0; k < {n_classes}; k++) {{\n    double s = {prefix}_b[k];\n"
            f"    for (int i = 0; i < {n_features}; i++) s += (double)features[i] * {prefix}_w[i * {n_classes} + k];\n"
            "    scores[k] = (float)s;\n  }\n"
        )
    elif kernel in ("rbf", "poly"):
        n_sv = len(points)
        gamma, degree, coef0 = float(first._gamma), int(first.degree), float(first.coef0)
        decl += (
            f"static const float {prefix}_sv[{n_sv * n_features}] = {c_array(points, 'float')};\n"
            f"static const float {prefix}_w[{n_sv * n_classes}] = {c_array(weights, 'float')};\n"
        )
        if kernel == "rbf":
            value = (
                f"    for (int i = 0; i < {n_features}; i++) {{\n"
                "      double d = (double)features[i] - sv[i];\n      t += d * d;\n    }\n"
                f"    t = exp(-{gamma!r} * t);\n"
            )
        else:
            value = (
                f"    for (int i = 0; i < {n_features}; i++) t += (double)features[i] * sv[i];\n"
                f"    t = pow({gamma!r} * t + {coef0!r}, {degree});\n"
            )
        body = (
            f"  double acc[{n_classes}];\n"
            f"  for (int k = 0; k < {n_classes}; k++) acc[k] = {prefix}_b[k];\n"
            f"  for (int m = 0; m < {n_sv}; m++) {{\n"
            f"    const float *sv = {prefix}_sv + m * {n_features};\n"
            f"    const float *w = {prefix}_w + m * {n_classes};\n"
            f"    double t = 0.0;\n{value}"
            f"    for (int k = 0; k < {n_classes}; k++) acc[k] += t * w[k];\n  }}\n"
            f"  for (int k = 0; k < {n_classes}; k++) scores[k] = (float)acc[k];\n"
        )
    else:
        raise NoCPath("svm", f"the {kernel} kernel has no C generator")
    code = (
        "#include <math.h>\n" + decl + f"static void {prefix}_core(const float *features, float *scores) {{\n{body}}}\n"
    )
    # skl2onnx's Scaler computes (x - mean) * (1 / scale) in float32
    return CCore(code, "kdedge (hand-written)", (scaler.mean_, 1.0 / scaler.scale_, "mul"))
