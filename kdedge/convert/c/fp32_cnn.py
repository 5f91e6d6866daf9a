"""CNN students -> float32 C (kdedge's own loops: no library among emlearn, treelite/tl2cgen and m2cgen writes
convolutions). kdedge's CNN is Normalize, then conv3x3-BatchNorm-ReLU blocks with one 2x max-pool, global average
pooling and a Linear layer, on images (C, H, W) or sequences (C, L); a sequence is written as an image one row
high, so one set of loops serves both. BatchNorm is folded into the conv before it (in float64, then float32), as
onnxruntime folds it when it loads the graph; the parity gate holds the C to the graph.

The activations live in two static buffers (ping-pong), each sized for the largest map written to it: RAM is about
the two largest consecutive maps, e.g. 16 + 16 KB for the digits teacher's 64 channels on 8x8, 24 KB for a
8-16-16 CNN on 16x16 digits-shift canvases, as the Cortex-M sizes say.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...students.neural import CNNStudent
from .generators import CCore, NoCPath, c_array, c_generator
from .mlp_layers import normalization


@dataclass(frozen=True)
class Shape:
    c: int
    h: int  # 1 for sequences
    w: int

    @property
    def size(self) -> int:
        return self.c * self.h * self.w


@dataclass(frozen=True)
class Step:
    """One C function of the chain: `conv` (3x3, BatchNorm folded, ReLU), `pool` (max 2), `gap` (global average)
    or `linear` (the scores); `layers` are the torch modules it stands for (run them to calibrate int8)."""

    kind: str
    inp: Shape
    out: Shape
    layers: tuple
    weight: np.ndarray | None = None  # conv (C_out, C_in, KH, KW) with BN folded; linear (n_out, n_in)
    bias: np.ndarray | None = None


def cnn_plan(student) -> tuple[object, list[Step]]:
    """(the Normalize module, the chain of steps) of kdedge's CNN; anything else -> one clear NoCPath."""
    from torch import nn

    layers = list(student.module)
    normalize, body = layers[0], layers[1:]
    dims = len(student.sample_shape) - 1
    c, *spatial = student.sample_shape
    shape = Shape(c, *spatial) if dims == 2 else Shape(c, 1, spatial[0])
    steps: list[Step] = []
    i = 0
    while i < len(body):
        layer = body[i]
        if isinstance(layer, nn.Conv1d | nn.Conv2d):
            bn = body[i + 1] if i + 1 < len(body) else None
            relu = i + 2 < len(body) and isinstance(body[i + 2], nn.ReLU)
            if not isinstance(bn, nn.BatchNorm1d | nn.BatchNorm2d) or not relu:
                raise NoCPath("cnn", "a conv not followed by BatchNorm and ReLU")
            _check_conv(layer)
            weight, bias = _fold(layer, bn, dims)
            out = Shape(layer.out_channels, shape.h, shape.w)
            steps.append(Step("conv", shape, out, tuple(body[i : i + 3]), weight, bias))
            i += 3
        elif isinstance(layer, nn.MaxPool1d | nn.MaxPool2d):
            if _pair(layer.kernel_size) != 2 or _pair(layer.stride) != 2 or _pair(layer.padding) != 0:
                raise NoCPath("cnn", "a max-pool other than 2x2, stride 2")
            out = Shape(shape.c, shape.h // 2 if dims == 2 else 1, shape.w // 2)
            steps.append(Step("pool", shape, out, (layer,)))
            i += 1
        elif isinstance(layer, nn.AdaptiveAvgPool1d | nn.AdaptiveAvgPool2d) and _pair(layer.output_size) == 1:
            out = Shape(shape.c, 1, 1)
            flatten = body[i + 1 : i + 2] if i + 1 < len(body) and isinstance(body[i + 1], nn.Flatten) else []
            steps.append(Step("gap", shape, out, (layer, *flatten)))
            i += 1 + len(flatten)
        elif isinstance(layer, nn.Linear) and i == len(body) - 1 and shape.h == shape.w == 1:
            out = Shape(layer.out_features, 1, 1)
            weight = layer.weight.detach().numpy().astype(np.float32)
            steps.append(Step("linear", shape, out, (layer,), weight, layer.bias.detach().numpy().astype(np.float32)))
            i += 1
        else:
            raise NoCPath("cnn", f"its layer {type(layer).__name__} has no C generator")
        shape = out
    if not steps or steps[-1].kind != "linear":
        raise NoCPath("cnn", "it does not end in a Linear layer")
    return normalize, steps


@c_generator(CNNStudent)
def cnn_to_c(student, prefix: str) -> CCore:
    normalize, steps = cnn_plan(student)
    writers = {
        "conv": lambda name, st: _conv(name, st.weight, st.bias, st.inp),
        "pool": lambda name, st: _max_pool(name, st.inp, st.out),
        "gap": lambda name, st: _global_average(name, st.inp),
        "linear": lambda name, st: _linear(name, st.weight, st.bias),
    }
    code = [writers[st.kind](f"{prefix}_l{i}", st) for i, st in enumerate(steps)]
    chain = ping_pong(prefix, code, [st.out.size for st in steps], "float")
    return CCore(chain, "kdedge (hand-written)", (*normalization(student, normalize), "div"))


def _pair(value) -> int:
    """A pooling size given as n or (n, n) -> n; anything uneven -> -1 (refused by the caller)."""
    values = set(value) if isinstance(value, tuple | list) else {value}
    return values.pop() if len(values) == 1 else -1


def _check_conv(conv) -> None:
    kernel, padding = conv.kernel_size, conv.padding
    ok = (
        all(k == 3 for k in kernel)
        and all(p == 1 for p in padding)
        and all(s == 1 for s in conv.stride)
        and all(d == 1 for d in conv.dilation)
        and conv.groups == 1
    )
    if not ok:
        raise NoCPath("cnn", "a conv other than 3x3, padding 1, stride 1")


def _fold(conv, bn, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Conv weights (C_out, C_in, KH, KW) and bias with the BatchNorm after it folded in (eval-mode statistics)."""
    w = conv.weight.detach().double().numpy()
    b = conv.bias.detach().double().numpy() if conv.bias is not None else np.zeros(w.shape[0])
    scale = bn.weight.detach().double().numpy() / np.sqrt(bn.running_var.double().numpy() + bn.eps)
    folded_w = w * scale.reshape(-1, *([1] * (w.ndim - 1)))
    folded_b = (b - bn.running_mean.double().numpy()) * scale + bn.bias.detach().double().numpy()
    if dims == 1:  # (C_out, C_in, K) -> (C_out, C_in, 1, K): a sequence is an image one row high
        folded_w = folded_w[:, :, None, :]
    return folded_w.astype(np.float32), folded_b.astype(np.float32)


def _conv(name: str, weight: np.ndarray, bias: np.ndarray, inp: Shape):
    co, ci, kh, kw = weight.shape
    h, w, k = inp.h, inp.w, ci * kh * kw
    # per output pixel: its k inputs gathered (zero outside the map), then every output channel's sum over them with
    # the weights stored (k, co) — the innermost loop runs across channels, contiguous and vectorizable, while each
    # channel still sums its terms in (ci, ky, kx) order
    columns = np.ascontiguousarray(weight.reshape(co, k).T)
    return (
        f"static const float {name}_w[{weight.size}] = {c_array(columns)};\n"
        f"static const float {name}_b[{co}] = {c_array(bias)};\n"
        f"static void {name}(const float *in, float *out) {{  /* conv {kh}x{kw} + folded BatchNorm + ReLU */\n"
        f"  float col[{k}], acc[{co}];\n"
        f"{pixel_loop_with_gathered_inputs(inp, kh, kw, '')}"
        f"      for (int o = 0; o < {co}; o++) acc[o] = 0.0f;\n"
        f"      for (int i = 0; i < {k}; i++) {{\n"
        f"        const float v = col[i], *wi = {name}_w + i * {co};\n"
        f"        for (int o = 0; o < {co}; o++) acc[o] += wi[o] * v;\n"
        "      }\n"
        f"      for (int o = 0; o < {co}; o++) {{\n"
        f"        const float v = acc[o] + {name}_b[o];\n"
        f"        out[(o * {h} + y) * {w} + x] = v > 0.0f ? v : 0.0f;\n"
        "      }\n"
        "    }\n"
        "}\n"
    )


def pixel_loop_with_gathered_inputs(inp: Shape, kh: int, kw: int, cast: str) -> str:
    """C that opens a loop over the output pixels and fills `col` with each pixel's inputs in (ci, ky, kx) order,
    zero outside the map (padding KH//2, KW//2); the caller writes the loop's body after it and closes it."""
    ci, h, w = inp.c, inp.h, inp.w
    return (
        f"  for (int y = 0; y < {h}; y++)\n"
        f"    for (int x = 0; x < {w}; x++) {{\n"
        "      int n = 0;\n"
        f"      for (int ci = 0; ci < {ci}; ci++)\n"
        f"        for (int ky = 0; ky < {kh}; ky++)\n"
        f"          for (int kx = 0; kx < {kw}; kx++) {{\n"
        f"            const int yy = y + ky - {kh // 2}, xx = x + kx - {kw // 2};\n"
        f"            const int inside = yy >= 0 && yy < {h} && xx >= 0 && xx < {w};\n"
        f"            col[n++] = inside ? {cast}in[(ci * {h} + yy) * {w} + xx] : 0;\n"
        "          }\n"
    )


def _max_pool(name: str, inp: Shape, out: Shape) -> str:
    rows = 2 if inp.h > 1 else 1  # a sequence pools along its length only
    return (
        f"static void {name}(const float *in, float *out) {{  /* max-pool 2, stride 2 */\n"
        f"  for (int c = 0; c < {out.c}; c++)\n"
        f"    for (int y = 0; y < {out.h}; y++)\n"
        f"      for (int x = 0; x < {out.w}; x++) {{\n"
        f"        const float *src = in + (c * {inp.h} + y * {rows}) * {inp.w} + x * 2;\n"
        "        float m = src[0];\n"
        f"        for (int dy = 0; dy < {rows}; dy++)\n"
        "          for (int dx = 0; dx < 2; dx++)\n"
        f"            if (src[dy * {inp.w} + dx] > m) m = src[dy * {inp.w} + dx];\n"
        f"        out[(c * {out.h} + y) * {out.w} + x] = m;\n"
        "      }\n"
        "}\n"
    )


def _global_average(name: str, inp: Shape) -> str:
    n = inp.h * inp.w
    return (
        f"static void {name}(const float *in, float *out) {{  /* global average pool */\n"
        f"  for (int c = 0; c < {inp.c}; c++) {{\n"
        "    float sum = 0.0f;\n"
        f"    for (int i = 0; i < {n}; i++) sum += in[c * {n} + i];\n"
        f"    out[c] = sum / {n}.0f;\n"
        "  }\n"
        "}\n"
    )


def _linear(name: str, weight: np.ndarray, bias: np.ndarray) -> str:
    n_out, n_in = weight.shape
    return (
        f"static const float {name}_w[{weight.size}] = {c_array(weight)};\n"
        f"static const float {name}_b[{n_out}] = {c_array(bias)};\n"
        f"static void {name}(const float *in, float *out) {{\n"
        f"  for (int o = 0; o < {n_out}; o++) {{\n"
        "    float acc = 0.0f;\n"
        f"    for (int i = 0; i < {n_in}; i++) acc += {name}_w[o * {n_in} + i] * in[i];\n"
        f"    out[o] = acc + {name}_b[o];\n"
        "  }\n"
        "}\n"
    )


def ping_pong(prefix: str, code: list[str], sizes: list[int], ctype: str) -> str:
    """The steps' code, two ping-pong buffers of `ctype` (each sized for the largest output written to it; the last
    step writes the scores), and `<prefix>_core` calling each step in turn."""
    written = sizes[:-1]
    buffers = [max(written[parity::2], default=1) for parity in (0, 1)]
    calls, source = [], "features"
    for i in range(len(code)):
        target = "scores" if i == len(code) - 1 else f"{prefix}_buf{i % 2}"
        calls.append(f"  {prefix}_l{i}({source}, {target});\n")
        source = target
    return (
        f"static {ctype} {prefix}_buf0[{buffers[0]}], {prefix}_buf1[{buffers[1]}];  /* feature maps, ping-pong */\n"
        + "".join(code)
        + f"static void {prefix}_core(const float *features, float *scores) {{\n{''.join(calls)}}}\n"
    )
