"""Fixed input maps in front of a non-neural student (`--features`): a registry by name.

Trees and kernel machines see an image as a list of pixel values, so a digit moved by three pixels is, to them, a
different set of numbers: on `digits-shift` a forest on pixels reaches 67 % and a Nystroem SVM 59 % on labels,
against 95 % for both on the *magnitude of the discrete Fourier transform* of each channel, which a circular shift
leaves unchanged (measured with `benchmarks/hard_task.py`, see its results). The map is fixed (nothing learned), so
it is part of the student: fitted on, scored through and exported in front of the model.

Each map is defined once, as an ONNX graph `flat (N, D) -> mapped (N, F)`, and kdedge computes it by running that
very graph with onnxruntime, for fitting as for scoring. Tree thresholds then split the same float32 values the
exported graph computes: a second implementation (numpy's FFT, another BLAS) differs in the last bit, and a value
that lands on the other side of one threshold in one tree breaks the parity gate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cached_property
from typing import ClassVar

import numpy as np

from .errors import DataError, OptionError

FEATURE_MAPS: dict[str, type[FeatureMap]] = {}

MAP_INPUT = "flat"
MAP_OUTPUT = "mapped"
CHUNK_ROWS = 16_384  # rows per onnxruntime call: bounded memory on 20x transfer sets


def register_feature_map(cls: type[FeatureMap]) -> type[FeatureMap]:
    FEATURE_MAPS[cls.name] = cls
    return cls


def feature_map(name: str, sample_shape) -> FeatureMap:
    if name not in FEATURE_MAPS:
        raise OptionError(f"unknown --features {name!r}; choose from {', '.join(sorted(FEATURE_MAPS))}")
    return FEATURE_MAPS[name](tuple(int(s) for s in sample_shape))


def check_name(name: str) -> str:
    """For the params' validator: the name alone, before any data (and so any shape) is known."""
    if name not in FEATURE_MAPS:
        raise ValueError(f"choose from {', '.join(sorted(FEATURE_MAPS))}")
    return name


class FeatureMap(ABC):
    name: ClassVar[str]
    summary: ClassVar[str]

    def __init__(self, sample_shape: tuple[int, ...]):
        self.sample_shape = sample_shape
        self.n_inputs = int(np.prod(sample_shape))

    @property
    @abstractmethod
    def n_outputs(self) -> int: ...

    @abstractmethod
    def graph(self, opset: int):
        """The ONNX model `flat (N, n_inputs) float32 -> mapped (N, n_outputs) float32`; None for the identity."""

    def __call__(self, x_flat: np.ndarray) -> np.ndarray:
        """(N, n_inputs) float32 -> (N, n_outputs) float32, computed by the exported graph itself."""
        if self._session is None:
            return x_flat
        out = np.empty((len(x_flat), self.n_outputs), np.float32)
        for start in range(0, len(x_flat), CHUNK_ROWS):
            rows = np.ascontiguousarray(x_flat[start : start + CHUNK_ROWS], np.float32)
            out[start : start + len(rows)] = self._session.run([MAP_OUTPUT], {MAP_INPUT: rows})[0]
        return out

    @cached_property
    def _session(self):
        model = self.graph(opset=18)
        if model is None:
            return None
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # MLAS splits rows between threads, never a sum: one thread is as exact
        return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


# Tree learners put a split between two seen values at their midpoint, computed in float64 (LightGBM, scikit-learn);
# onnxruntime compares float32 inputs against float32 thresholds, so a midpoint that float32 cannot hold is rounded
# and the values between it and its rounding go the other way (seen: a LightGBM student on spectrum features, max
# abs diff 0.15). Values with at most SIGNIFICANT_BITS significant bits have midpoints with one bit more, which
# float32 (24 bits) holds exactly, whatever the scale of the data. The rounding is relative (1e-6), far below noise.
SIGNIFICANT_BITS = 20


def short_mantissa_nodes(value: str, out: str) -> list:
    """ONNX nodes rounding non-negative `value` to SIGNIFICANT_BITS significant bits: step = 2^(floor(log2 x) -
    bits + 1), out = round(x / step) * step (a power of two times an integer below 2^(bits+1): exact in float32)."""
    from onnx import helper

    return [
        helper.make_node("Max", [value, "smallest_normal"], ["positive"]),
        helper.make_node("Log", ["positive"], ["ln"]),
        helper.make_node("Mul", ["ln", "inv_ln2"], ["log2"]),
        helper.make_node("Floor", ["log2"], ["exponent"]),
        helper.make_node("Sub", ["exponent", "kept_bits"], ["step_exponent"]),
        helper.make_node("Pow", ["two", "step_exponent"], ["step"]),
        helper.make_node("Div", [value, "step"], ["steps"]),
        helper.make_node("Round", ["steps"], ["whole_steps"]),
        helper.make_node("Mul", ["whole_steps", "step"], [out]),
    ]


def short_mantissa_constants() -> list:
    from onnx import numpy_helper

    constants = {
        "smallest_normal": np.float32(2.0**-100),  # log of 0 avoided; x below it rounds to 0 or 2^-100-scaled steps
        "inv_ln2": np.float32(1.0 / np.log(2.0)),
        "kept_bits": np.float32(SIGNIFICANT_BITS - 1),
        "two": np.float32(2.0),
    }
    return [numpy_helper.from_array(np.array(v), name) for name, v in constants.items()]


@register_feature_map
class RawFeatures(FeatureMap):
    name = "raw"
    summary = "the flattened input values as they are"

    @property
    def n_outputs(self) -> int:
        return self.n_inputs

    def graph(self, opset: int):
        return None


@register_feature_map
class SpectrumFeatures(FeatureMap):
    """|DFT| over the spatial axes of each channel: (C, H, W) images -> C x H x (W//2+1) values, (C, L) sequences ->
    C x (L//2+1). Unchanged by circular shifts, nearly so by a shape moved on an empty background; the phase (where
    the parts sit relative to each other) is lost, so it suits data whose classes differ in shape, not layout."""

    name = "spectrum"
    summary = "shift-invariant |DFT| per channel (images (C,H,W), sequences (C,L))"

    def __init__(self, sample_shape):
        super().__init__(sample_shape)
        if len(sample_shape) not in (2, 3):
            raise DataError(
                f"--features spectrum needs images (C, H, W) or sequences (C, L); these samples have shape "
                f"{sample_shape}: use --features raw"
            )
        self.channels = sample_shape[0]
        self.spatial = sample_shape[1:]

    @property
    def _per_channel(self) -> int:
        *outer, last = self.spatial
        return int(np.prod(outer, dtype=np.int64)) * (last // 2 + 1)

    @property
    def n_outputs(self) -> int:
        return self.channels * self._per_channel

    def dft_matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """cos and sin of the real DFT as (spatial size, outputs per channel) float32 matrices (rfft's layout: the
        last axis keeps its non-negative frequencies only, as the rest are their mirror images)."""
        grids = np.meshgrid(*[np.arange(n) for n in self.spatial], indexing="ij")
        freqs = [np.arange(n) for n in self.spatial[:-1]] + [np.arange(self.spatial[-1] // 2 + 1)]
        fgrids = np.meshgrid(*freqs, indexing="ij")
        phase = sum(np.outer(g.ravel(), f.ravel()) / n for g, f, n in zip(grids, fgrids, self.spatial, strict=True))
        angle = 2.0 * np.pi * phase
        return np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)

    def graph(self, opset: int):
        from onnx import TensorProto, helper, numpy_helper

        cos, sin = self.dft_matrices()
        size = int(np.prod(self.spatial))
        nodes = [
            helper.make_node("Reshape", [MAP_INPUT, "per_channel_shape"], ["per_channel"]),
            helper.make_node("MatMul", ["per_channel", "dft_cos"], ["real"]),
            helper.make_node("MatMul", ["per_channel", "dft_sin"], ["imag"]),
            helper.make_node("Mul", ["real", "real"], ["real2"]),
            helper.make_node("Mul", ["imag", "imag"], ["imag2"]),
            helper.make_node("Add", ["real2", "imag2"], ["power"]),
            helper.make_node("Sqrt", ["power"], ["magnitude"]),
            *short_mantissa_nodes("magnitude", "rounded"),
            helper.make_node("Reshape", ["rounded", "flat_shape"], [MAP_OUTPUT]),
        ]
        initializers = [
            numpy_helper.from_array(np.array([-1, self.channels, size], np.int64), "per_channel_shape"),
            numpy_helper.from_array(np.array([-1, self.n_outputs], np.int64), "flat_shape"),
            numpy_helper.from_array(cos, "dft_cos"),
            numpy_helper.from_array(sin, "dft_sin"),
            *short_mantissa_constants(),
        ]
        graph = helper.make_graph(
            nodes,
            "spectrum",
            [helper.make_tensor_value_info(MAP_INPUT, TensorProto.FLOAT, ["N", self.n_inputs])],
            [helper.make_tensor_value_info(MAP_OUTPUT, TensorProto.FLOAT, ["N", self.n_outputs])],
            initializer=initializers,
        )
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
