"""CNN students -> integer-only C, the scheme of `int8_mlp` carried through convolutions: int8 weights per output
channel (BatchNorm folded first), an int8 input, uint8 feature maps after each ReLU with ranges calibrated on
train-split samples, int32 sums rescaled by an integer multiply and shift; max-pooling works on the uint8 maps as
they are (the largest code is the largest value), global average pooling keeps int32 sums, and the final Linear
layer reads those sums directly (its scale includes the 1/N), so the only floats are the input rounding and the K
output scales. The layer walk is `fp32_cnn.cnn_plan`'s, shared with the float C.

`Int8CNN.predict` is the same integer arithmetic in numpy (im2col and integer matmuls); the C must equal it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ExportError
from ...students.neural import CNNStudent
from .fp32_cnn import Shape, cnn_plan, pixel_loop_with_gathered_inputs
from .generators import CCore, c_array, c_generator
from .int8_mlp import HIDDEN_MAX, INPUT_MAX, WEIGHT_MAX, _fixed_point, _scale, input_rounding_c, quantize_input
from .mlp_layers import normalization


@dataclass(frozen=True)
class QStep:
    kind: str  # conv | pool | gap | linear (as fp32_cnn.Step)
    inp: Shape
    out: Shape
    weights: np.ndarray | None = None  # int8: conv (C_out, C_in*KH*KW) in (ci, ky, kx) order; linear (n_out, C)
    biases: np.ndarray | None = None  # int32
    multiplier: np.ndarray | None = None  # conv: int32 per output channel
    shift: np.ndarray | None = None  # conv: int32 per output channel
    out_scale: np.ndarray | None = None  # linear: float32 per class
    kernel: tuple[int, int] = (1, 1)  # conv: (KH, KW)


@dataclass(frozen=True)
class Int8CNN:
    input_inv_scale: np.float32
    steps: tuple[QStep, ...]

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores float32 (n, K), labels) from normalized float32 features (n, C*H*W), as the C computes them."""
        first = self.steps[0].inp
        q = quantize_input(np.asarray(features, np.float32), self.input_inv_scale).astype(np.int64)
        q = q.reshape(len(q), first.c, first.h, first.w)
        for st in self.steps:
            if st.kind == "conv":
                acc = _im2col(q, st.kernel) @ st.weights.astype(np.int64).T + st.biases  # (n, H*W, C_out)
                half = np.left_shift(np.int64(1), st.shift - 1)
                r = np.minimum((np.maximum(acc, 0) * st.multiplier + half) >> st.shift, HIDDEN_MAX)
                q = r.transpose(0, 2, 1).reshape(len(q), st.out.c, st.out.h, st.out.w)
            elif st.kind == "pool":
                rows = 2 if st.inp.h > 1 else 1
                q = q[:, :, : st.out.h * rows, : st.out.w * 2]
                q = q.reshape(len(q), st.out.c, st.out.h, rows, st.out.w, 2).max(axis=(3, 5))
            elif st.kind == "gap":
                q = q.sum(axis=(2, 3))  # (n, C) int sums
            else:
                acc = q @ st.weights.astype(np.int64).T + st.biases
                scores = acc.astype(np.float32) * st.out_scale
                return scores, np.argmax(scores, axis=1)
        raise AssertionError("an Int8CNN ends with its linear step")


def _im2col(q: np.ndarray, kernel: tuple[int, int]) -> np.ndarray:
    """(n, H*W, C*KH*KW): each pixel's inputs in (ci, ky, kx) order, zero outside the map (padding KH//2, KW//2)."""
    n, c, h, w = q.shape
    kh, kw = kernel
    padded = np.pad(q, ((0, 0), (0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2)))
    patches = np.stack([padded[:, :, ky : ky + h, kx : kx + w] for ky in range(kh) for kx in range(kw)], axis=2)
    return patches.reshape(n, c * kh * kw, h * w).transpose(0, 2, 1)  # (n, c, kh*kw, h, w) -> (n, hw, c*kh*kw)


def quantize_cnn(steps, features: np.ndarray, sample_shape) -> Int8CNN:
    """The int8 model of the float plan `steps`, with ranges from running its torch layers on `features`
    (normalized float32, n x C*H*W, of `sample_shape`)."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(features, np.float32).reshape(len(features), *sample_shape))
    in_scale = _scale(float(x.abs().max()), INPUT_MAX)
    input_inv_scale = np.float32(1.0 / in_scale)
    in_max, quantized = INPUT_MAX, []
    for st in steps:
        with torch.no_grad():
            for layer in st.layers:
                x = layer(x)
        if st.kind == "conv":
            rows = st.weight.reshape(st.weight.shape[0], -1).astype(np.float64)
            w_scale = np.array([_scale(v, WEIGHT_MAX) for v in np.abs(rows).max(axis=1)])
            w_q = np.clip(np.rint(rows / w_scale[:, None]), -WEIGHT_MAX, WEIGHT_MAX).astype(np.int8)
            sum_scale = in_scale * w_scale
            b_q = np.rint(st.bias.astype(np.float64) / sum_scale).astype(np.int64)
            _check_int32(w_q, b_q, in_max)
            out_scale = _scale(float(x.max()), HIDDEN_MAX)
            multiplier, shift = _fixed_point(sum_scale / out_scale)
            kernel = st.weight.shape[2:]
            quantized.append(QStep("conv", st.inp, st.out, w_q, b_q.astype(np.int32), multiplier, shift, None, kernel))
            in_scale, in_max = out_scale, HIDDEN_MAX
        elif st.kind == "pool":
            quantized.append(QStep("pool", st.inp, st.out))
        elif st.kind == "gap":
            n_summed = st.inp.h * st.inp.w
            quantized.append(QStep("gap", st.inp, st.out))
            in_scale, in_max = in_scale / n_summed, in_max * n_summed  # a sum of N codes stands for N x the mean
        else:
            w = st.weight.astype(np.float64)
            w_scale = np.array([_scale(v, WEIGHT_MAX) for v in np.abs(w).max(axis=1)])
            w_q = np.clip(np.rint(w / w_scale[:, None]), -WEIGHT_MAX, WEIGHT_MAX).astype(np.int8)
            sum_scale = in_scale * w_scale
            b_q = np.rint(st.bias.astype(np.float64) / sum_scale).astype(np.int64)
            _check_int32(w_q, b_q, in_max)
            scale = sum_scale.astype(np.float32)
            quantized.append(QStep("linear", st.inp, st.out, w_q, b_q.astype(np.int32), out_scale=scale))
    return Int8CNN(input_inv_scale, tuple(quantized))


def _check_int32(w_q: np.ndarray, b_q: np.ndarray, in_max: int) -> None:
    if np.max(np.abs(w_q).astype(np.int64).sum(axis=1) * in_max + np.abs(b_q)) >= 2**31:
        raise ExportError("a cnn layer is too wide for int32 sums in int8 C; export it as fp32 C (--target c)")


@c_generator(CNNStudent, precision="int8")
def cnn_to_int8_c(student, prefix: str, calibration: np.ndarray) -> CCore:
    normalize, steps = cnn_plan(student)
    offset, divisor = normalization(student, normalize)
    flat = np.asarray(calibration, np.float32).reshape(len(calibration), -1)
    model = quantize_cnn(steps, (flat - offset) / divisor, student.sample_shape)
    return CCore(int8_cnn_c(model, prefix), "kdedge (hand-written int8)", (offset, divisor, "div"), model.predict)


def int8_cnn_c(model: Int8CNN, prefix: str) -> str:
    """`<prefix>_core(features, scores)`: the input rounded to int8, then one function per step over uint8 maps
    (two ping-pong buffers), int32 sums after the global average, float scores."""
    first = model.steps[0].inp
    maps = [st.out.size for st in model.steps if st.kind in ("conv", "pool")]
    sizes = [max(maps[parity::2], default=1) for parity in (0, 1)]
    parts = [
        "#include <stdint.h>\n",
        f"static int8_t {prefix}_q[{first.size}];  /* the input, rounded to int8 */\n",
        f"static uint8_t {prefix}_map0[{sizes[0]}], {prefix}_map1[{sizes[1]}];  /* feature maps, ping-pong */\n",
        f"static int32_t {prefix}_sums[{max(st.out.c for st in model.steps)}];  /* after the global average */\n",
    ]
    calls, source, in_type, n_maps = [], f"{prefix}_q", "int8_t", 0
    for i, st in enumerate(model.steps):
        name = f"{prefix}_l{i}"
        if st.kind in ("conv", "pool"):
            target, out_type = f"{prefix}_map{n_maps % 2}", "uint8_t"
            n_maps += 1
        elif st.kind == "gap":
            target, out_type = f"{prefix}_sums", "int32_t"
        else:
            target, out_type = "scores", "float"
        parts.append(WRITERS[st.kind](name, st, in_type, out_type))
        calls.append(f"  {name}({source}, {target});\n")
        source, in_type = target, out_type
    parts.append(
        f"static void {prefix}_core(const float *features, float *scores) {{\n"
        f"{input_rounding_c(f'{prefix}_q', first.size, model.input_inv_scale)}"
        f"{''.join(calls)}"
        "}\n"
    )
    return "".join(parts)


def _conv(name: str, st: QStep, in_type: str, out_type: str) -> str:
    co, k = st.weights.shape
    kh, kw = st.kernel
    h, w = st.inp.h, st.inp.w
    columns = np.ascontiguousarray(st.weights.T)  # (k, C_out): the inner loop runs across output channels
    return (
        f"static const int8_t {name}_w[{columns.size}] = {c_array(columns, 'int', 16)};\n"
        f"static const int32_t {name}_b[{co}] = {c_array(st.biases, 'int', 8)};\n"
        f"static const int32_t {name}_m[{co}] = {c_array(st.multiplier, 'int', 8)};\n"
        f"static const uint8_t {name}_s[{co}] = {c_array(st.shift, 'int', 16)};\n"
        f"static void {name}(const {in_type} *in, {out_type} *out) {{  /* int8 conv {kh}x{kw} + ReLU */\n"
        f"  int32_t col[{k}], acc[{co}];\n"
        f"{pixel_loop_with_gathered_inputs(st.inp, kh, kw, '(int32_t)')}"
        f"      for (int o = 0; o < {co}; o++) acc[o] = {name}_b[o];\n"
        f"      for (int i = 0; i < {k}; i++) {{\n"
        f"        const int32_t v = col[i];\n"
        f"        const int8_t *wi = {name}_w + i * {co};\n"
        f"        for (int o = 0; o < {co}; o++) acc[o] += (int32_t)wi[o] * v;\n"
        "      }\n"
        f"      for (int o = 0; o < {co}; o++) {{  /* ReLU, then (acc * m) >> s rounded: acc >= 0 here */\n"
        "        const int32_t a = acc[o] > 0 ? acc[o] : 0;\n"
        f"        const int s = {name}_s[o];\n"
        f"        const int64_t r = ((int64_t)a * {name}_m[o] + ((int64_t)1 << (s - 1))) >> s;\n"
        f"        out[(o * {h} + y) * {w} + x] = (uint8_t)(r > {HIDDEN_MAX} ? {HIDDEN_MAX} : r);\n"
        "      }\n"
        "    }\n"
        "}\n"
    )


def _pool(name: str, st: QStep, in_type: str, out_type: str) -> str:
    rows = 2 if st.inp.h > 1 else 1
    out, w_in = st.out, st.inp.w
    return (
        f"static void {name}(const {in_type} *in, {out_type} *out) {{  /* max-pool 2, stride 2, on the codes */\n"
        f"  for (int c = 0; c < {out.c}; c++)\n"
        f"    for (int y = 0; y < {out.h}; y++)\n"
        f"      for (int x = 0; x < {out.w}; x++) {{\n"
        f"        const {in_type} *src = in + (c * {st.inp.h} + y * {rows}) * {w_in} + x * 2;\n"
        f"        {in_type} m = src[0];\n"
        f"        for (int dy = 0; dy < {rows}; dy++)\n"
        "          for (int dx = 0; dx < 2; dx++)\n"
        f"            if (src[dy * {w_in} + dx] > m) m = src[dy * {w_in} + dx];\n"
        f"        out[(c * {out.h} + y) * {out.w} + x] = m;\n"
        "      }\n"
        "}\n"
    )


def _gap(name: str, st: QStep, in_type: str, out_type: str) -> str:
    n = st.inp.h * st.inp.w
    return (
        f"static void {name}(const {in_type} *in, {out_type} *out) {{  /* global average: the sums (1/N is in the "
        "next layer's scale) */\n"
        f"  for (int c = 0; c < {st.inp.c}; c++) {{\n"
        "    int32_t sum = 0;\n"
        f"    for (int i = 0; i < {n}; i++) sum += in[c * {n} + i];\n"
        "    out[c] = sum;\n"
        "  }\n"
        "}\n"
    )


def _linear(name: str, st: QStep, in_type: str, out_type: str) -> str:
    n_out, n_in = st.weights.shape
    return (
        f"static const int8_t {name}_w[{st.weights.size}] = {c_array(st.weights, 'int', 16)};\n"
        f"static const int32_t {name}_b[{n_out}] = {c_array(st.biases, 'int', 8)};\n"
        f"static const float {name}_scale[{n_out}] = {c_array(st.out_scale)};\n"
        f"static void {name}(const {in_type} *in, {out_type} *out) {{\n"
        f"  for (int o = 0; o < {n_out}; o++) {{\n"
        f"    int32_t acc = {name}_b[o];\n"
        f"    for (int i = 0; i < {n_in}; i++) acc += (int32_t){name}_w[o * {n_in} + i] * in[i];\n"
        f"    out[o] = (float)acc * {name}_scale[o];\n"
        "  }\n"
        "}\n"
    )


WRITERS = {"conv": _conv, "pool": _pool, "gap": _gap, "linear": _linear}
