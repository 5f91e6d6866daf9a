"""`--student svm`: one SVR per class on the teacher's outputs (hard baseline: SVC), or, for transfer sets too large
for a kernel machine, Nystroem features + a linear model (`--approx nystroem`)."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, PositiveFloat, field_validator

from .base import register
from .sklearn_base import NonNeuralParams, PipelineStudent, warn

# Kernel SVMs are quadratic (or worse) in the number of samples: above this, say so before a fit of minutes.
LARGE_KERNEL_FIT = 10_000
DEFAULT_COMPONENTS = 500


class SVMParams(NonNeuralParams):
    kernel: Literal["rbf", "poly", "linear"] = Field("rbf", description="kernel: rbf, poly or linear")
    C: float = Field(10.0, gt=0, description="regularization C > 0")
    gamma: Literal["scale", "auto"] | PositiveFloat = Field(
        "scale", description="kernel width: scale, auto or a number"
    )
    degree: int = Field(3, ge=1, le=10, description="poly kernel degree")
    approx: Literal["none", "nystroem"] = Field("none", description="none, or nystroem for large transfer sets")
    # None: DEFAULT_COMPONENTS with --approx nystroem
    n_components: int | None = Field(None, ge=1, description="--approx nystroem: kernel features (500)")

    @field_validator("gamma", mode="before")
    @classmethod
    def _gamma(cls, value):
        """One clear message for `--gamma fast` and `--gamma -1` alike (not one per branch of the union)."""
        if value in ("scale", "auto"):
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not number > 0:
            raise ValueError("expected scale, auto or a number > 0")
        return number

    @field_validator("n_components")
    @classmethod
    def _only_with_nystroem(cls, value, info):
        if value is not None and info.data.get("approx") != "nystroem":
            raise ValueError("applies only with --approx nystroem")
        return value


def resolve_gamma(gamma, x_scaled: np.ndarray) -> float:
    """scikit-learn's meaning of 'scale' / 'auto' on the standardized inputs, as the number Nystroem needs."""
    if gamma == "scale":
        var = float(np.var(x_scaled))
        return 1.0 / (x_scaled.shape[1] * var) if var > 0 else 1.0
    if gamma == "auto":
        return 1.0 / x_scaled.shape[1]
    return float(gamma)


@register
class SVMStudent(PipelineStudent):
    family: ClassVar[str] = "svm"
    summary: ClassVar[str] = "SVR per class on teacher outputs (hard: SVC); --approx nystroem for large transfer sets"
    Params = SVMParams

    @property
    def _approx(self) -> bool:
        return self.params.approx == "nystroem"

    @property
    def parity_tolerance(self):
        """Nystroem features are sums over n_components kernel values: in float32 (the graph) they drift from
        float64 (scikit-learn) by ~2e-4 on logit-scale scores (1000 components, 100k inputs; labels 100 % equal)."""
        tolerance = super().parity_tolerance
        if not self._approx:
            return tolerance
        return type(tolerance)(rtol=tolerance.rtol, atol=1e-3, min_label_agreement=tolerance.min_label_agreement)

    def _kernel_args(self) -> dict:
        p = self.params
        return {"kernel": p.kernel, "C": p.C, "gamma": p.gamma, "degree": p.degree}

    def _warn_if_slow(self, n_samples: int, what: str) -> None:
        if n_samples > LARGE_KERNEL_FIT:
            warn(
                f"fitting {what} with a {self.params.kernel} kernel on {n_samples} samples may take many minutes "
                "(time grows about quadratically); --approx nystroem is much faster"
            )

    def fit_classifier(self, x, y, seed):
        return self._fit(self.classifier(seed, len(x)), x, y, seed)

    def fit_regressor(self, x, targets, seed):
        return self._fit(self.regressor(seed, len(x)), x, targets, seed)

    def _fit(self, final, x, targets, seed):
        """The pipeline fitted step by step, so that the Nystroem map is conditioned before the model sees it."""
        pipeline = self.pipeline(final, x, seed)
        if not self._approx:
            return pipeline.fit(x, targets)
        features = pipeline[:-1].fit(x)
        condition_nystroem(pipeline.named_steps["features"])
        pipeline.steps[-1][1].fit(features.transform(x), targets)
        return pipeline

    def classifier(self, seed, n_samples):
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import SVC

        if self._approx:
            return LogisticRegression(C=self.params.C, max_iter=2000)
        self._warn_if_slow(n_samples, "an SVC")
        return SVC(**self._kernel_args())

    def regressor(self, seed, n_samples):
        from sklearn.linear_model import Ridge
        from sklearn.multioutput import MultiOutputRegressor
        from sklearn.svm import SVR

        if self._approx:
            # alpha = 1 / (2C): the same trade-off as an SVM's C, on a squared loss.
            return Ridge(alpha=1.0 / (2.0 * self.params.C))
        self._warn_if_slow(n_samples, f"{self.n_classes} SVRs")
        # One SVR per class; skl2onnx converts a MultiOutputRegressor in one call.
        return MultiOutputRegressor(SVR(**self._kernel_args()))

    def pipeline(self, final, x, seed):
        if not self._approx:
            return super().pipeline(final, x, seed)
        from sklearn.kernel_approximation import Nystroem
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        p = self.params
        features = Nystroem(
            kernel=p.kernel,
            gamma=resolve_gamma(p.gamma, StandardScaler().fit_transform(x)),
            degree=p.degree,
            coef0=0.0,  # SVR/SVC's default, so --approx changes the solver and not the kernel
            n_components=min(p.n_components or DEFAULT_COMPONENTS, len(x)),
            random_state=seed,
        )
        return Pipeline([("scale", StandardScaler()), ("features", features), ("model", final)])


# Eigenvalues of the components' kernel matrix below this fraction of the largest are dropped, not inverted.
NYSTROEM_RCOND = 1e-6


def condition_nystroem(features) -> None:
    """Recompute a fitted Nystroem's `normalization_` (K^-1/2 of the components' kernel matrix) as a truncated
    pseudo-inverse square root. scikit-learn floors the eigenvalues at 1e-12, so duplicate components — a shifted
    transfer set holds exact copies of its inputs (the zero shift) — give weights up to 1e6 and features that are
    differences of huge numbers: float64 and the ONNX graph's float32 then disagree by ~0.1 on the logits (measured
    on Fashion-MNIST, 2,000 components: 0.085, and the parity gate refused the export). Dropping the null directions
    leaves the features of the kept ones unchanged, and keeps every weight below 1/sqrt(NYSTROEM_RCOND x the largest
    eigenvalue)."""
    from scipy.linalg import svd
    from sklearn.metrics.pairwise import pairwise_kernels

    params = {"gamma": features.gamma, "degree": features.degree, "coef0": features.coef0}
    params = {k: v for k, v in params.items() if v is not None}
    basis = pairwise_kernels(features.components_, metric=features.kernel, filter_params=True, **params)
    u, s, vt = svd(basis)
    keep = s > NYSTROEM_RCOND * s.max()
    features.normalization_ = (u[:, keep] / np.sqrt(s[keep])) @ vt[keep]
