"""scikit-learn pipelines -> a core ONNX graph with skl2onnx, plus two converters kdedge registers itself:

- Nystroem, which skl2onnx does not convert;
- one SVR per class (a MultiOutputRegressor of SVRs), in double precision over the union of the support vectors.
  skl2onnx's SVR converter emits one float32 SVMRegressor per class (onnxruntime has no double kernel for it):
  summing thousands of support vectors in float32 drifted past the parity gate's atol 1e-4 on a 5x transfer set,
  and each class stored its own copy of the support vectors they mostly share.

Both build on the same kernel functions, one per kernel name.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np

from .graph import CORE_INPUT
from .nonneural import core_converter


@core_converter("sklearn")
def pipeline_to_onnx(pipeline, n_features: int, opset: int):
    """Scores are the regressor's output, or the classifier's `probabilities` (zipmap off)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.base import is_classifier

    _register_converters()
    final = pipeline.steps[-1][1]
    options = {id(final): {"zipmap": False}} if is_classifier(final) else None
    with warnings.catch_warnings():
        # skl2onnx reads SVC.probA_/probB_, which scikit-learn 1.9 deprecates (kdedge never sets probability=True)
        warnings.filterwarnings("ignore", message="Attribute `prob", category=FutureWarning)
        model = convert_sklearn(
            pipeline,
            initial_types=[(CORE_INPUT, FloatTensorType([None, n_features]))],
            options=options,
            target_opset=opset,
        )
    # classifiers: (label, probabilities); regressors: (variable,). Scores are the last output either way.
    return model, model.graph.output[-1].name


# -- kernels k(x, points) as skl2onnx algebra, one per kernel name; `p` holds gamma, degree, coef0 --
def _rbf(x, points, p, dtype, opv):
    """exp(-gamma |x - p|²), with |x - p|² = |x|² - 2 x·p + |p|²: two MatMuls instead of skl2onnx's cdist, whose
    Scan loop made one SVR prediction over 5000 support vectors take 16 ms instead of about 0.1 ms."""
    from skl2onnx.algebra.onnx_ops import OnnxAdd, OnnxExp, OnnxMul, OnnxReduceSumSquareApi18

    cross = OnnxMul(_linear(x, points, p, dtype, opv), np.array([-2.0], dtype=dtype), op_version=opv)
    x_norms = OnnxReduceSumSquareApi18(x, axes=[1], keepdims=1, op_version=opv)
    point_norms = np.sum(points.astype(np.float64) ** 2, axis=1).astype(dtype)[None, :]
    dist = OnnxAdd(OnnxAdd(cross, x_norms, op_version=opv), point_norms, op_version=opv)
    return OnnxExp(OnnxMul(dist, np.array([-p["gamma"]], dtype=dtype), op_version=opv), op_version=opv)


def _linear(x, points, p, dtype, opv):
    from skl2onnx.algebra.onnx_ops import OnnxMatMul

    return OnnxMatMul(x, np.ascontiguousarray(points.T), op_version=opv)


def _poly(x, points, p, dtype, opv):
    from skl2onnx.algebra.onnx_ops import OnnxAdd, OnnxMul, OnnxPow

    scaled = OnnxMul(_linear(x, points, p, dtype, opv), np.array([p["gamma"]], dtype=dtype), op_version=opv)
    shifted = OnnxAdd(scaled, np.array([p["coef0"]], dtype=dtype), op_version=opv)
    return OnnxPow(shifted, np.array([p["degree"]], dtype=np.int64), op_version=opv)


KERNELS = {"rbf": _rbf, "poly": _poly, "linear": _linear}


def _kernel(name: str, x, points, params: dict, dtype, opv):
    if name not in KERNELS:
        raise NotImplementedError(f"kernel {name!r} has no ONNX converter in kdedge; use one of {', '.join(KERNELS)}")
    return KERNELS[name](x, points.astype(dtype), params, dtype, opv)


# -- Nystroem: transform(x) = k(x, components_) @ normalization_.T --
def _nystroem_shape(operator):
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = operator.inputs[0].type.__class__([n, operator.raw_operator.components_.shape[0]])


def _nystroem_convert(scope, operator, container):
    from skl2onnx.algebra.onnx_ops import OnnxMatMul
    from skl2onnx.common.data_types import guess_numpy_type

    op = operator.raw_operator
    opv = container.target_opset
    x = operator.inputs[0]
    dtype = guess_numpy_type(x.type)
    # kdedge always sets gamma, degree and coef0, so no kernel default is left to guess
    params = {"gamma": op.gamma, "degree": op.degree, "coef0": op.coef0}
    kernel = _kernel(op.kernel, x, op.components_, params, dtype, opv)
    out = OnnxMatMul(kernel, op.normalization_.T.astype(dtype), op_version=opv, output_names=operator.outputs[:1])
    out.add_to(scope, container)


# -- one SVR per class: scores = k(x, SV) @ W + b in float64, SV the union of every class's support vectors --
def _svrs_shape(operator):
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = operator.inputs[0].type.__class__([n, len(operator.raw_operator.estimators_)])


def shared_support(svrs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(support vectors of all classes, once each; weights (M, K); intercepts (K,))."""
    index = np.unique(np.concatenate([svr.support_ for svr in svrs]))
    position = {int(i): row for row, i in enumerate(index)}
    points = np.empty((len(index), svrs[0].support_vectors_.shape[1]))
    weights = np.zeros((len(index), len(svrs)))
    for k, svr in enumerate(svrs):
        rows = [position[int(i)] for i in svr.support_]
        points[rows] = svr.support_vectors_
        weights[rows, k] = svr.dual_coef_[0]
    return points, weights, np.array([svr.intercept_[0] for svr in svrs])


def _svrs_convert(scope, operator, container):
    from onnx import TensorProto
    from skl2onnx.algebra.onnx_ops import OnnxAdd, OnnxCast, OnnxMatMul
    from sklearn.svm import SVR

    svrs = operator.raw_operator.estimators_
    if not all(isinstance(s, SVR) for s in svrs):
        raise NotImplementedError("kdedge converts a MultiOutputRegressor of SVRs only")
    first = svrs[0]
    opv = container.target_opset
    points, weights, intercepts = shared_support(svrs)
    # the fitted gamma ('scale' resolved): the same attribute skl2onnx's own SVM converter reads
    params = {"gamma": float(first._gamma), "degree": int(first.degree), "coef0": float(first.coef0)}
    x = OnnxCast(operator.inputs[0], to=TensorProto.DOUBLE, op_version=opv)
    kernel = _kernel(first.kernel, x, points, params, np.float64, opv)
    scores = OnnxAdd(OnnxMatMul(kernel, weights, op_version=opv), intercepts, op_version=opv)
    out = OnnxCast(scores, to=TensorProto.FLOAT, op_version=opv, output_names=operator.outputs[:1])
    out.add_to(scope, container)


@cache
def _register_converters() -> None:
    from skl2onnx import update_registered_converter
    from sklearn.kernel_approximation import Nystroem
    from sklearn.multioutput import MultiOutputRegressor

    update_registered_converter(Nystroem, "KdedgeNystroem", _nystroem_shape, _nystroem_convert)
    # kdedge's only MultiOutputRegressor is the SVR per class (forests and trees regress all K targets natively)
    update_registered_converter(MultiOutputRegressor, "KdedgeSVRPerClass", _svrs_shape, _svrs_convert)
