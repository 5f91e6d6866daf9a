"""An ONNX teacher, run through onnxruntime. Logits only: a graph has no named layers for feature methods."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import DataError, OptionError
from .external import ExternalTeacher, _first_line
from .registry import teacher_kind

INPUT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64}
PREFERRED_OUTPUTS = ("scores", "logits")  # kdedge exports `scores`; many exporters call it `logits`


class OnnxTeacher(ExternalTeacher):
    kind = "onnx"
    runtime = "onnxruntime"
    has_features = False

    def __init__(self, path: Path):
        super().__init__(path)
        from ..measure.latency import make_session

        try:
            self.session = make_session(str(path), threads=0)  # 0: onnxruntime's default, all cores for targets
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable graphs
            raise OptionError(f"{path}: not a loadable ONNX model ({_first_line(exc)})") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise OptionError(f"{path}: the graph has {len(inputs)} inputs; a teacher takes one input tensor")
        self.input = inputs[0]
        if self.input.type not in INPUT_TYPES:
            raise OptionError(f"{path}: input type {self.input.type}; a teacher takes float or double inputs")
        self.input_dtype = INPUT_TYPES[self.input.type]
        outputs = {o.name: o for o in self.session.get_outputs()}
        self.output = next((n for n in PREFERRED_OUTPUTS if n in outputs), next(iter(outputs)))
        meta = self.session.get_modelmeta().custom_metadata_map
        if "kdedge.class_names" in meta:
            try:
                self.known_class_names = [str(n) for n in json.loads(meta["kdedge.class_names"])]
            except (ValueError, TypeError):
                raise OptionError(f"{path}: its metadata kdedge.class_names is not a JSON list; re-export it") from None
        # a kdedge export names the data it came from: `teacher eval model.onnx` and distill need no --data then
        self.metadata = {k.removeprefix("kdedge."): v for k, v in meta.items() if k.startswith("kdedge.")}
        batch = self.input.shape[0] if self.input.shape else None
        if batch == 1:  # a graph exported with a fixed batch of 1: feed it one row at a time
            self.batch_size = 1

    # Sent to a Dask worker (kdedge.cluster), the teacher travels as its state without the session, which the worker
    # opens again from the same path (the file must be where every worker sees it).
    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("session", "input")}

    def __setstate__(self, state: dict) -> None:
        from ..measure.latency import make_session

        self.__dict__.update(state)
        self.session = make_session(str(self.path), threads=0)
        self.input = self.session.get_inputs()[0]

    def _check_input(self, dataset) -> None:
        declared = list(self.input.shape)
        sample = list(dataset.sample_shape)
        fixed = [d if isinstance(d, int) else None for d in declared[1:]]
        if len(declared) != len(sample) + 1 or any(
            d is not None and d != s for d, s in zip(fixed, sample, strict=True)
        ):
            shown = ", ".join(str(d) if isinstance(d, int) else "?" for d in declared)
            raise DataError(
                f"teacher {self.name} takes inputs of shape ({shown}) but {dataset.name} has samples of shape "
                f"{tuple(sample)}; give data in the layout the teacher was trained on"
            )

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return self.session.run([self.output], {self.input.name: x.astype(self.input_dtype, copy=False)})[0]

    def latency(self, samples: np.ndarray, threads: int = 1, **options) -> dict:
        from ..measure.latency import measure_latency

        return {"runtime": self.runtime, **measure_latency(self.path, samples, threads, **options)}

    def recorded_data(self) -> tuple[str, int] | None:
        """(data source, split seed) the export recorded, or None for a graph kdedge did not write."""
        from ..measure.runs import recorded_data

        if "data_source" not in self.metadata:
            return None
        return recorded_data(self.path, self.metadata), int(self.metadata.get("data_seed") or 0)

    def describe(self) -> dict:
        return {**super().describe(), "output": self.output}


@teacher_kind("onnx", (".onnx",))
def load_onnx(path: Path, factory: str | None = None) -> OnnxTeacher:
    """An ONNX graph (input -> class scores), run by onnxruntime; logits only."""
    return OnnxTeacher(path)
