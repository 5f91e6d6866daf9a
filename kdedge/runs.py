"""Run directories: the unit users pass between commands (manifest, weights, model.onnx, metrics)."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import platform
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from ._io import read_json, write_json
from .errors import RunError

MANIFEST = "kdedge.json"
ONNX_FILE = "model.onnx"
_TRACKED = ("numpy", "torch", "onnx", "onnxruntime", "scikit-learn", "lightgbm", "skl2onnx", "onnxmltools")


def versions() -> dict[str, str]:
    found = {"kdedge": __version__, "python": platform.python_version()}
    for name in _TRACKED:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


@dataclass
class Run:
    path: Path
    manifest: dict

    @classmethod
    def load(cls, path) -> Run:
        path = Path(path)
        if not path.is_dir():
            raise RunError(f"{path}: no such run directory; create it with 'kdedge teacher train' or 'kdedge distill'")
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            raise RunError(f"{path}: not a kdedge run (no {MANIFEST}); pass a directory made by kdedge")
        try:
            manifest = read_json(manifest_path)
        except ValueError as exc:
            raise RunError(f"{manifest_path}: not valid JSON ({exc}); recreate the run") from exc
        if not isinstance(manifest, dict) or "kind" not in manifest or "family" not in manifest:
            raise RunError(f"{manifest_path}: not a kdedge manifest; recreate the run")
        return cls(path, manifest)

    def __repr__(self) -> str:
        metrics = self.manifest.get("metrics") or {}
        shown = ", ".join(f"{k}={metrics[k]:.4f}" for k in ("test_accuracy", "val_agreement") if k in metrics)
        return f"Run({str(self.path)!r}, {self.kind} {self.family}{', ' + shown if shown else ''})"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def metrics(self) -> dict:
        """Test accuracy (read once, after selection), val accuracy / agreement / KL, epochs, fit time..."""
        return dict(self.manifest.get("metrics") or {})

    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    @property
    def family(self) -> str:
        return self.manifest["family"]

    @property
    def onnx_path(self) -> Path:
        return self.path / ONNX_FILE

    def require_onnx(self) -> Path:
        if not self.onnx_path.is_file():
            raise RunError(f"{self.path}: has no {ONNX_FILE}; run 'kdedge export {self.path}' first")
        return self.onnx_path

    def dataset(self, override: str | None = None, fmt: str | None = None, **reader_options):
        """The run's own data set and split (read as it was: same format and reader options), or `override`
        (read with `fmt` and `reader_options`) checked against the run's input shape and classes."""
        from .data import load_dataset

        data = self.manifest["data"]
        if override is None:
            fmt, reader_options = data.get("format"), data.get("reader_options") or {}
        dataset = load_dataset(override or data["source"], seed=int(data["seed"]), fmt=fmt, **reader_options)
        dataset.check_compatible(data["sample_shape"], int(data["n_classes"]), f"run {self.path}")
        return dataset

    def update(self, **fields) -> None:
        """Merge top-level fields into the manifest and rewrite it atomically."""
        self.manifest.update(fields)
        write_json(self.path / MANIFEST, self.manifest)
