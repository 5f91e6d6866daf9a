"""The one job path: every surface that trains a model — `kdedge distill` and `teacher train`, `kdedge.distill`,
a recipe, a search trial, the benchmarks — builds a `Job` and hands it to `execute`, the only caller of `fit_run`.

Teachers and data are resolved in one place, `resolve` (a run, a TorchScript or ONNX file, weights with a factory,
several averaged, a chain through assistants), returning one `Bound` teacher every surface uses the same way.

Layering: `kdedge.api`, `kdedge.recipes` and `kdedge.budget_search` import this package; it imports
`distillation`, `teachers`, `students`, `data` and `options`, none of which import it back.
"""

from __future__ import annotations

from .job import Job, execute, teacher_job
from .resolve import Bound, dataset_and_source, resolve

__all__ = ["Bound", "Job", "dataset_and_source", "execute", "resolve", "teacher_job"]
