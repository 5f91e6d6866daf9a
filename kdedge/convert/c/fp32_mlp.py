"""MLP students -> float32 C, kdedge's own loops (the registered fp32 MLP generator).

Chosen over emlearn's `eml_net` by measurement (`benchmarks/c_libraries.py`): emlearn stores each layer as
(inputs, outputs) and sums one output at a time, reading its weights with a stride of n_outputs, which the compiler
cannot vectorize — 5.4 µs for an MLP-128 and 72 µs for a 256-256 one, slower than onnxruntime itself. Here the same
layout is walked input by input, adding each input's contribution to all outputs at once: contiguous reads that
vectorize across outputs while every output still sums its terms in input order, so the result is the same float32
arithmetic (no reassociation, no FMA in ISO C99 mode) and stays within the parity gate.
"""

from __future__ import annotations

import numpy as np

from ...students.neural import MLPStudent
from .generators import CCore, c_array, c_generator
from .mlp_layers import mlp_layers, normalization


@c_generator(MLPStudent)
def mlp_to_c(student, prefix: str) -> CCore:
    weights, biases, normalize = mlp_layers(student)
    return CCore(fp32_c(weights, biases, prefix), "kdedge (hand-written)", (*normalization(student, normalize), "div"))


def fp32_c(weights: list[np.ndarray], biases: list[np.ndarray], prefix: str) -> str:
    """`<prefix>_core(features, scores)`: Linear layers (weights (n_out, n_in)) with ReLU between, two static
    buffers for the hidden activations."""
    widest = max((w.shape[0] for w in weights[:-1]), default=1)
    parts = [f"static float {prefix}_hidden[2][{widest}];  /* the hidden layers' activations, ping-pong */\n"]
    calls = []
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        n_out, n_in = w.shape
        name, last = f"{prefix}_l{i}", i == len(weights) - 1
        parts.append(f"static const float {name}_w[{n_in * n_out}] = {c_array(np.ascontiguousarray(w.T))};\n")
        parts.append(f"static const float {name}_b[{n_out}] = {c_array(b)};\n")
        finish = "out[o] += b[o];" if last else "out[o] = out[o] + b[o] > 0.0f ? out[o] + b[o] : 0.0f;  /* ReLU */"
        parts.append(
            f"static void {name}(const float *in, float *out) {{\n"
            f"  const float *b = {name}_b;\n"
            f"  for (int o = 0; o < {n_out}; o++) out[o] = 0.0f;\n"
            f"  for (int i = 0; i < {n_in}; i++) {{  /* input i's weights to every output: one contiguous row */\n"
            f"    const float x = in[i], *w = {name}_w + i * {n_out};\n"
            f"    for (int o = 0; o < {n_out}; o++) out[o] += w[o] * x;\n"
            "  }\n"
            f"  for (int o = 0; o < {n_out}; o++) {finish}\n"
            "}\n"
        )
        source = "features" if i == 0 else f"{prefix}_hidden[{(i - 1) % 2}]"
        target = "scores" if last else f"{prefix}_hidden[{i % 2}]"
        calls.append(f"  {name}({source}, {target});\n")
    parts.append(f"static void {prefix}_core(const float *features, float *scores) {{\n{''.join(calls)}}}\n")
    return "".join(parts)
