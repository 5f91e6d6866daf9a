"""scikit-learn pipelines -> a core ONNX graph with skl2onnx (plus the one converter skl2onnx lacks: Nystroem)."""

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

    _register_nystroem()
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


# -- Nystroem: transform(x) = kernel(x, components_) @ normalization_.T, with one builder per kernel --
def _rbf(x, components, gamma, degree, dtype, opv):
    from skl2onnx.algebra.complex_functions import onnx_cdist
    from skl2onnx.algebra.onnx_ops import OnnxExp, OnnxMul

    n_comp, n_feat = components.shape
    dist = onnx_cdist(x, components, metric="sqeuclidean", dtype=dtype, op_version=opv, dim_in=n_feat, dim_out=n_comp)
    return OnnxExp(OnnxMul(dist, np.array([-gamma], dtype=dtype), op_version=opv), op_version=opv)


def _dot(x, components, opv):
    from skl2onnx.algebra.onnx_ops import OnnxMatMul

    return OnnxMatMul(x, components.T.copy(), op_version=opv)


def _poly(x, components, gamma, degree, dtype, opv):
    from skl2onnx.algebra.onnx_ops import OnnxMul, OnnxPow

    scaled = OnnxMul(_dot(x, components, opv), np.array([gamma], dtype=dtype), op_version=opv)
    return OnnxPow(scaled, np.array([degree], dtype=np.int64), op_version=opv)  # coef0 = 0, as kdedge fits it


def _linear(x, components, gamma, degree, dtype, opv):
    return _dot(x, components, opv)


NYSTROEM_KERNELS = {"rbf": _rbf, "poly": _poly, "linear": _linear}


def _nystroem_shape(operator):
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = operator.inputs[0].type.__class__([n, operator.raw_operator.components_.shape[0]])


def _nystroem_convert(scope, operator, container):
    from skl2onnx.algebra.onnx_ops import OnnxMatMul
    from skl2onnx.common.data_types import guess_numpy_type

    op = operator.raw_operator
    if op.kernel not in NYSTROEM_KERNELS or (op.kernel == "poly" and op.coef0 not in (0, 0.0)):
        raise NotImplementedError(f"Nystroem kernel {op.kernel!r} (coef0={op.coef0}) has no ONNX converter in kdedge")
    opv = container.target_opset
    x = operator.inputs[0]
    dtype = guess_numpy_type(x.type)
    kernel = NYSTROEM_KERNELS[op.kernel](x, op.components_.astype(dtype), op.gamma, op.degree, dtype, opv)
    out = OnnxMatMul(kernel, op.normalization_.T.astype(dtype), op_version=opv, output_names=operator.outputs[:1])
    out.add_to(scope, container)


@cache
def _register_nystroem() -> None:
    from skl2onnx import update_registered_converter
    from sklearn.kernel_approximation import Nystroem

    update_registered_converter(Nystroem, "KdedgeNystroem", _nystroem_shape, _nystroem_convert)
