"""MLP students -> C with emlearn's neural-network code (eml_net.h, "loadable" layout: float32 weights in const
arrays, two activation buffers). kdedge's MLP is Normalize, Flatten, then Linear/ReLU pairs and a final Linear;
emlearn takes the Linear layers as (weights (n_in, n_out), biases) with relu / identity activations, and kdedge's
wrapper applies Normalize in front. emlearn's headers are inlined, so the source needs nothing but libc and libm.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...errors import ExportError
from ...students.neural import MLPStudent
from .generators import CCore, c_generator


@c_generator(MLPStudent)
def mlp_to_c(student, prefix: str) -> CCore:
    import emlearn
    from emlearn.net import c_generate_net_loadable
    from torch import nn

    layers = list(student.module)
    normalize, flatten, body = layers[0], layers[1], layers[2:]
    if not isinstance(flatten, nn.Flatten) or not all(isinstance(m, nn.Linear | nn.ReLU) for m in body):
        raise ExportError(f"the mlp's layers are not Normalize, Flatten, Linear/ReLU: {student.module}")
    linears = [m for m in body if isinstance(m, nn.Linear)]
    weights = [m.weight.detach().numpy().T.astype(np.float32) for m in linears]
    biases = [m.bias.detach().numpy().astype(np.float32) for m in linears]
    activations = ["relu"] * (len(linears) - 1) + ["identity"]  # logits out, as the graph's `scores`
    net = f"{prefix}_net"
    code = inline_headers(c_generate_net_loadable(activations, weights, biases, prefix=net), Path(emlearn.includedir))
    n_in, n_out = weights[0].shape[0], weights[-1].shape[1]
    code += (
        f"\nstatic void {prefix}_core(const float *features, float *scores) {{\n"
        f"  {net}_regress(features, {n_in}, scores, {n_out});\n}}\n"
    )
    shape = (1, *student.sample_shape)
    offset = np.broadcast_to(normalize.mean.numpy(), shape).ravel()
    scale = np.broadcast_to(normalize.std.numpy(), shape).ravel()
    return CCore(code, f"emlearn {emlearn.__version__}", (offset, scale, "div"))


def inline_headers(code: str, include_dir: Path, seen: set[str] | None = None) -> str:
    """Replace each `#include <eml_*.h>` / `"eml_*.h"` by the header's text (once), so the .c stands alone."""
    seen = set() if seen is None else seen

    def expand(match: re.Match) -> str:
        name = match.group(1)
        if name in seen:
            return ""
        seen.add(name)
        text = (include_dir / name).read_text()
        return f"/* ---- {name} (emlearn, MIT license) ---- */\n" + inline_headers(text, include_dir, seen)

    return re.sub(r'^[ \t]*#include\s*[<"](eml_\w+\.h)[>"][^\n]*$', expand, code, flags=re.M)
