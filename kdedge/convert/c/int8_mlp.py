"""MLP students -> integer-only C: int8 weights, int8 inputs, uint8 hidden activations, int32 sums.

Written by kdedge because no library among the project's C generators does it: emlearn 0.23's fixed-point net
(`eml_net_forward_q16`) is an unimplemented FIXME and its loadable layout is float only; tl2cgen and m2cgen take
no neural nets. The scheme is the usual one for microcontrollers (as TFLite Micro and CMSIS-NN use it):
symmetric per-output-row int8 weights, activation ranges calibrated on train-split samples, and each hidden
layer's rescale done as an integer multiply and shift, so the layers need no FPU. Floats remain only where the
public call has them: the raw float input is normalized and rounded to int8 once, and the K scores are the last
layer's int32 sums times one float scale each.

`Int8MLP.predict` is the same arithmetic in numpy, step for step (float32 where the C uses float, exact integers
elsewhere): the C export must reproduce it exactly, and the accuracy it costs is measured against the fp32
graph on the test split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ExportError
from ...students.neural import MLPStudent
from .generators import CCore, c_array, c_generator
from .mlp_layers import mlp_layers, normalization

INPUT_MAX = 127  # inputs int8 in [-127, 127] (symmetric: zero stays exactly zero)
HIDDEN_MAX = 255  # after ReLU, activations are >= 0: uint8 keeps the 8th bit for them
WEIGHT_MAX = 127
MULTIPLIER_BITS = 31  # the rescale multiplier is an int32 in [2^30, 2^31): 31 bits of precision


@dataclass(frozen=True)
class Int8Layer:
    weights: np.ndarray  # int8 (n_out, n_in), row-major: each output's weights are contiguous
    biases: np.ndarray  # int32 (n_out,), in units of input scale x weight scale
    multiplier: np.ndarray | None = None  # hidden: int32 (n_out,) — uint8 out = (sum * multiplier) >> shift
    shift: np.ndarray | None = None  # hidden: int32 (n_out,), the right shift, with rounding
    out_scale: np.ndarray | None = None  # last: float32 (n_out,), scores = sum * out_scale


@dataclass(frozen=True)
class Int8MLP:
    input_inv_scale: np.float32  # normalized float feature x this, rounded, is the int8 input
    layers: tuple[Int8Layer, ...]

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores float32 (n, K), labels) from normalized float32 features (n, n_in), as the C computes them."""
        q = quantize_input(np.asarray(features, np.float32), self.input_inv_scale).astype(np.int64)
        for layer in self.layers:
            acc = q @ layer.weights.astype(np.int64).T + layer.biases
            if layer.out_scale is not None:
                scores = acc.astype(np.float32) * layer.out_scale
                return scores, np.argmax(scores, axis=1)  # argmax: the first on ties, as the C loop
            half = np.left_shift(np.int64(1), layer.shift - 1)
            q = np.minimum((np.maximum(acc, 0) * layer.multiplier + half) >> layer.shift, HIDDEN_MAX)
        raise AssertionError("an Int8MLP ends with a layer that has out_scale")


def quantize_input(features: np.ndarray, inv_scale: np.float32) -> np.ndarray:
    """Round half away from zero, in float32 as the C does (t + 0.5f then truncation), clamped first; NaN -> 0
    (`input_rounding_c` is the same in C)."""
    t = np.clip(features * np.float32(inv_scale), np.float32(-INPUT_MAX), np.float32(INPUT_MAX))
    t = np.where(np.isnan(t), np.float32(0), t).astype(np.float32)
    half = np.where(t >= 0, np.float32(0.5), np.float32(-0.5)).astype(np.float32)
    return np.trunc(t + half).astype(np.int32)


def input_rounding_c(target: str, n: int, inv_scale: np.float32) -> str:
    """C filling int8 `target[n]` from `features` as `quantize_input` does (a NaN would make the cast undefined)."""
    inv = c_array([inv_scale]).strip("{}\n ")
    return (
        f"  for (int i = 0; i < {n}; i++) {{  /* round half away from zero, clamped to [-127, 127]; NaN -> 0 */\n"
        f"    float t = features[i] * {inv};\n"
        "    if (t != t) t = 0.0f;\n"
        f"    if (t > {INPUT_MAX}.0f) t = {INPUT_MAX}.0f;\n"
        f"    if (t < -{INPUT_MAX}.0f) t = -{INPUT_MAX}.0f;\n"
        f"    {target}[i] = (int8_t)(int32_t)(t + (t >= 0.0f ? 0.5f : -0.5f));\n"
        "  }\n"
    )


def quantize_mlp(weights: list[np.ndarray], biases: list[np.ndarray], calibration: np.ndarray) -> Int8MLP:
    """The int8 model of Linear layers `weights[l]` (n_out, n_in) with ReLU between, ranges from `calibration`
    (normalized float inputs, n x n_in)."""
    x = np.asarray(calibration, np.float64)
    in_scale = _scale(np.abs(x).max(), INPUT_MAX)
    input_inv_scale = np.float32(1.0 / in_scale)
    layers = []
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        w, b = np.asarray(w, np.float64), np.asarray(b, np.float64)
        w_scale = np.array([_scale(v, WEIGHT_MAX) for v in np.abs(w).max(axis=1)])
        w_q = np.clip(np.rint(w / w_scale[:, None]), -WEIGHT_MAX, WEIGHT_MAX).astype(np.int8)
        sum_scale = in_scale * w_scale  # one unit of the int32 sum, per output
        b_q = np.rint(b / sum_scale).astype(np.int64)
        in_max = INPUT_MAX if i == 0 else HIDDEN_MAX
        if np.max(np.abs(w_q).astype(np.int64).sum(axis=1) * in_max + np.abs(b_q)) >= 2**31:
            raise ExportError(f"layer {i} of the mlp is too wide for int32 sums in int8 C; export it as fp32 C")
        if i == len(weights) - 1:
            layers.append(Int8Layer(w_q, b_q.astype(np.int32), out_scale=sum_scale.astype(np.float32)))
            break
        x = np.maximum(x @ w.T + b, 0.0)  # the float layer's ReLU outputs: this layer's range
        out_scale = _scale(x.max(), HIDDEN_MAX)
        multiplier, shift = _fixed_point(sum_scale / out_scale)
        layers.append(Int8Layer(w_q, b_q.astype(np.int32), multiplier, shift))
        in_scale = out_scale
    return Int8MLP(input_inv_scale, tuple(layers))


def _scale(largest: float, qmax: int) -> float:
    """Real value of one step so that `largest` maps to `qmax`; a range of zero (a dead unit) gets 1."""
    return float(largest) / qmax if largest > 0 else 1.0


def _fixed_point(factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each factor as multiplier * 2**-shift with multiplier in [2^30, 2^31) (an int32) and 1 <= shift <= 62."""
    mantissa, exponent = np.frexp(factors)  # factors = mantissa * 2**exponent, mantissa in [0.5, 1)
    multiplier = np.rint(mantissa * 2.0**MULTIPLIER_BITS).astype(np.int64)
    carry = multiplier == 2**MULTIPLIER_BITS  # rounding up reached 1.0
    multiplier[carry] //= 2
    exponent = exponent + carry
    shift = MULTIPLIER_BITS - exponent
    if np.any(shift < 1) or np.any(shift > 62):
        raise ExportError("an mlp layer's rescale is out of the int8 C range (weights or activations far from 1)")
    return multiplier.astype(np.int32), shift.astype(np.int32)


@c_generator(MLPStudent, precision="int8")
def mlp_to_int8_c(student, prefix: str, calibration: np.ndarray) -> CCore:
    weights, biases, normalize = mlp_layers(student)
    offset, divisor = normalization(student, normalize)
    flat = np.asarray(calibration, np.float32).reshape(len(calibration), -1)
    model = quantize_mlp(weights, biases, (flat - offset) / divisor)
    return CCore(
        int8_c(model, prefix),
        "kdedge (hand-written int8)",
        (offset, divisor, "div"),
        reference=model.predict,
    )


def int8_c(model: Int8MLP, prefix: str) -> str:
    """`<prefix>_core(features, scores)`: the layers as loops over constant int8 arrays, two static buffers."""
    widest = max(layer.weights.shape[0] for layer in model.layers[:-1]) if len(model.layers) > 1 else 1
    parts = [
        "#include <stdint.h>\n",
        f"static uint8_t {prefix}_hidden[2][{widest}];  /* the hidden layers' activations, ping-pong */\n",
    ]
    calls = []
    for i, layer in enumerate(model.layers):
        n_out, n_in = layer.weights.shape
        name = f"{prefix}_l{i}"
        in_type = "int8_t" if i == 0 else "uint8_t"
        parts.append(f"static const int8_t {name}_w[{n_out * n_in}] = {c_array(layer.weights, 'int', 16)};\n")
        parts.append(f"static const int32_t {name}_b[{n_out}] = {c_array(layer.biases, 'int', 8)};\n")
        if layer.out_scale is None:
            parts.append(f"static const int32_t {name}_m[{n_out}] = {c_array(layer.multiplier, 'int', 8)};\n")
            parts.append(f"static const uint8_t {name}_s[{n_out}] = {c_array(layer.shift, 'int', 16)};\n")
            out_type = "uint8_t"
            finish = (  # ReLU, then (acc * m) >> s rounded: acc >= 0 here, so the shift is well defined in C
                "    if (acc < 0) acc = 0;\n"
                f"    const int s = {name}_s[o];\n"
                f"    int64_t r = ((int64_t)acc * {name}_m[o] + ((int64_t)1 << (s - 1))) >> s;\n"
                f"    out[o] = (uint8_t)(r > {HIDDEN_MAX} ? {HIDDEN_MAX} : r);\n"
            )
        else:
            parts.append(f"static const float {name}_scale[{n_out}] = {c_array(layer.out_scale)};\n")
            out_type, finish = "float", f"    out[o] = (float)acc * {name}_scale[o];\n"
        parts.append(
            f"static void {name}(const {in_type} *in, {out_type} *out) {{\n"
            f"  for (int o = 0; o < {n_out}; o++) {{\n"
            f"    const int8_t *w = {name}_w + o * {n_in};\n"
            f"    int32_t acc = {name}_b[o];\n"
            f"    for (int i = 0; i < {n_in}; i++) acc += (int32_t)in[i] * (int32_t)w[i];\n"
            f"{finish}"
            "  }\n}\n"
        )
        source = "q" if i == 0 else f"{prefix}_hidden[{(i - 1) % 2}]"
        target = "scores" if layer.out_scale is not None else f"{prefix}_hidden[{i % 2}]"
        calls.append(f"  {name}({source}, {target});\n")
    n_in = model.layers[0].weights.shape[1]
    parts.append(
        f"static void {prefix}_core(const float *features, float *scores) {{\n"
        f"  int8_t q[{n_in}];\n"
        f"{input_rounding_c('q', n_in, model.input_inv_scale)}"
        f"{''.join(calls)}"
        "}\n"
    )
    return "".join(parts)
