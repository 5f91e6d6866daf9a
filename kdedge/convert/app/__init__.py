"""App artifacts from a run's ONNX graphs, for the two ways apps ship ONNX models with onnxruntime's own tools:

- `--target mobile` (format "ort"): RUN/mobile/ — the ORT format (`.ort`) that ONNX Runtime Mobile loads on Android
  and iOS, and the `required_operators.config` that builds a reduced runtime with only the operators the model uses;
- `--target web` (format "web"): RUN/web/ — the graph, a page and a script running it in the browser with
  onnxruntime-web (WebAssembly).

Both start from RUN/model.onnx (exported first when missing) and RUN/model.int8.onnx where an int8 export kept it;
each artifact is checked against the graph it came from on the test split before its folder is swapped in.
"""

from __future__ import annotations

from .folder import APP_FOLDERS, app_sources
from .mobile import export_mobile
from .web import export_web

APP_EXPORTERS = {"ort": export_mobile, "web": export_web}  # a profile's `format` -> its writer


def export_app(run, student, profile) -> dict:
    return APP_EXPORTERS[profile.format](run, student, profile)


__all__ = ["APP_EXPORTERS", "APP_FOLDERS", "app_sources", "export_app"]
