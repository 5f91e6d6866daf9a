"""MLP students -> C with emlearn's neural-network code (eml_net.h, "loadable" layout: float32 weights in const
arrays, two activation buffers). kdedge's MLP is Normalize, Flatten, then Linear/ReLU pairs and a final Linear;
emlearn takes the Linear layers as (weights (n_in, n_out), biases) with relu / identity activations, and kdedge's
wrapper applies Normalize in front. emlearn's headers are inlined, so the source needs nothing but libc and libm.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...students.neural import MLPStudent
from .generators import CCore, c_generator
from .mlp_layers import mlp_layers, normalization


@c_generator(MLPStudent)
def mlp_to_c(student, prefix: str) -> CCore:
    import emlearn
    from emlearn.net import c_generate_net_loadable

    rows, biases, normalize = mlp_layers(student)
    weights = [np.ascontiguousarray(w.T) for w in rows]  # emlearn takes (n_in, n_out)
    activations = ["relu"] * (len(weights) - 1) + ["identity"]  # logits out, as the graph's `scores`
    net = f"{prefix}_net"
    code = inline_headers(c_generate_net_loadable(activations, weights, biases, prefix=net), Path(emlearn.includedir))
    n_in, n_out = weights[0].shape[0], weights[-1].shape[1]
    code += (
        f"\nstatic void {prefix}_core(const float *features, float *scores) {{\n"
        f"  {net}_regress(features, {n_in}, scores, {n_out});\n}}\n"
    )
    return CCore(code, f"emlearn {emlearn.__version__}", (*normalization(student, normalize), "div"))


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
