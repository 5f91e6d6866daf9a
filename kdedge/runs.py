"""Run directories: the unit users pass between commands (manifest, weights, model.onnx, metrics)."""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import platform
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .errors import RunError
from .manifest import MANIFEST, Manifest

# Every file name a run directory holds, in one place.
ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
METRICS = "metrics.json"
TARGETS_DIR = "targets"
_TRACKED = ("numpy", "torch", "onnx", "onnxruntime", "scikit-learn", "lightgbm", "skl2onnx", "onnxmltools")


def versions() -> dict[str, str]:
    found = {"kdedge": __version__, "python": platform.python_version()}
    for name in _TRACKED:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def sha256_files(directory: Path, names: list[str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update((directory / name).read_bytes())
    return digest.hexdigest()[:16]


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


@dataclass
class Run:
    path: Path
    manifest: Manifest

    @classmethod
    def load(cls, path) -> Run:
        path = Path(path)
        if not path.is_dir():
            raise RunError(f"{path}: no such run directory; create it with 'kdedge teacher train' or 'kdedge distill'")
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            raise RunError(f"{path}: not a kdedge run (no {MANIFEST}); pass a directory made by kdedge")
        return cls(path, Manifest.read(manifest_path))

    def __repr__(self) -> str:
        metrics = self.manifest.metrics
        shown = ", ".join(f"{k}={metrics[k]:.4f}" for k in ("test_accuracy", "val_agreement") if k in metrics)
        return f"Run({str(self.path)!r}, {self.kind} {self.family}{', ' + shown if shown else ''})"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def metrics(self) -> dict:
        """Test accuracy (read once, after selection), val accuracy / agreement / KL, epochs, fit time..."""
        return dict(self.manifest.metrics)

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def family(self) -> str:
        return self.manifest.family

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

        data = self.manifest.data
        if override is None:
            fmt, reader_options = data.format, data.reader_options
        dataset = load_dataset(override or data.source, seed=data.seed, fmt=fmt, **reader_options)
        dataset.check_compatible(data.sample_shape, data.n_classes, f"run {self.path}")
        return dataset

    def check_weights(self) -> None:
        """Refuse weights that are not the ones this run was made with (truncated, swapped, edited): the recorded
        fingerprint is what students, caches and chains trust as this model's identity."""
        m = self.manifest
        if not m.weights_sha256 or not m.weights:
            return  # nothing recorded to compare with
        missing = [name for name in m.weights if not (self.path / name).is_file()]
        if missing:
            raise RunError(
                f"{self.path}: weights file {missing[0]} is missing; restore it or recreate the run ({self.remake})"
            )
        found = sha256_files(self.path, m.weights)
        if found != m.weights_sha256:
            raise RunError(
                f"{self.path}: its weights ({', '.join(m.weights)}) changed since the run was made (fingerprint "
                f"{found}, recorded {m.weights_sha256}); restore them or recreate the run ({self.remake})"
            )

    @property
    def remake(self) -> str:
        """The command that makes a run of this kind again, for error messages."""
        return "kdedge teacher train" if self.kind == "teacher" else "kdedge distill"

    def update(self, **fields) -> None:
        """Set top-level fields of the manifest (validated) and rewrite it atomically."""
        self.manifest = Manifest.model_validate({**self.manifest.model_dump(mode="json"), **fields})
        self.manifest.write(self.path)
