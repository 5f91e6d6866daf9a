"""Convert ONNX graphs to the ORT format with onnxruntime's own tool, in a child process:

    python -m kdedge.convert.app.ort_convert SRC_DIR OUT_DIR LEVEL

onnxruntime writes part of an .ort file in the order of a table keyed by memory addresses, so the same graph gives
different bytes from one process to the next; the child runs with address-space randomization off (Linux
personality ADDR_NO_RANDOMIZE), which makes the bytes repeat. The optimization level reaches the tool through the
variable it reads, in the child's environment only.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import subprocess
import sys
from pathlib import Path

from ...errors import ExportError

ADDR_NO_RANDOMIZE = 0x0040000
LEVEL_VARIABLE = "ORT_CONVERT_ONNX_MODELS_TO_ORT_OPTIMIZATION_LEVEL"
LEVELS = {"disable": "disable", "basic": "basic", "extended": "extended", "all": "all"}  # profile -> tool's names


def _no_aslr() -> None:
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or refused: the bytes may then differ
        libc = ctypes.CDLL(None, use_errno=True)
        libc.personality(ADDR_NO_RANDOMIZE)


def convert(src_dir: Path, out_dir: Path, level: str) -> tuple[dict[str, Path], Path]:
    """Every SRC_DIR/<stem>.onnx as OUT_DIR/<stem>.ort, and OUT_DIR/required_operators.config (model paths in its
    header reduced to file names). Raises ExportError with onnxruntime's own last line if it fails."""
    env = {**os.environ, LEVEL_VARIABLE: LEVELS[level]}
    done = subprocess.run(
        [sys.executable, "-m", __name__, str(src_dir), str(out_dir)],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=_no_aslr if sys.platform.startswith("linux") else None,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ExportError(f"onnxruntime could not convert the graph to ORT format: {last}")
    suffix = "" if level == "all" else f".{level}"
    converted = {}
    for onnx_file in sorted(src_dir.glob("*.onnx")):
        stem = onnx_file.name.removesuffix(".onnx")
        made = out_dir / f"{stem}{suffix}.ort"
        final = out_dir / f"{stem}.ort"
        made.rename(final)
        converted[stem] = final
    config = out_dir / f"required_operators{suffix}.config"
    lines = config.read_text().splitlines()
    named = [
        f"# - {Path(line[4:]).name.replace(f'{suffix}.ort', '.ort')}" if line.startswith("# - ") else line
        for line in lines
    ]
    final_config = out_dir / "required_operators.config"
    final_config.write_text("\n".join(named) + "\n")
    if config != final_config:
        config.unlink()
    return converted, final_config


def _main(src_dir: str, out_dir: str) -> None:
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    with contextlib.redirect_stdout(io.StringIO()):  # the tool narrates each step; the parent says what matters
        convert_onnx_models_to_ort(
            Path(src_dir), output_dir=Path(out_dir), optimization_styles=[OptimizationStyle.Fixed]
        )


if __name__ == "__main__":
    _main(*sys.argv[1:3])
