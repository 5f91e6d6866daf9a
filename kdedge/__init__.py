"""kdedge: distill a CNN teacher into students small enough for a board or an app, export them to ONNX (parity-
checked) and measure them. The public API is in `kdedge.api` and re-exported here; see its docstring."""

__version__ = "0.1.0"

from .compute import prefer_passive_waiting  # noqa: E402

prefer_passive_waiting()  # before anything imports torch: spinning OpenMP threads stall on a busy machine

from .api import BenchResult, Run, bench, distill, export, load_data, load_teacher, search, train_teacher  # noqa: E402
from .errors import KdedgeError  # noqa: E402

__all__ = [
    "BenchResult",
    "KdedgeError",
    "Run",
    "__version__",
    "bench",
    "distill",
    "export",
    "load_data",
    "load_teacher",
    "search",
    "train_teacher",
]
