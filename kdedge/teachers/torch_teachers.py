"""Torch teachers from files: TorchScript archives, and weights (safetensors or a state_dict .pth) + a factory."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from ..errors import DataError, OptionError
from .external import ExternalTeacher, _first_line
from .registry import teacher_kind

CLASS_NAMES_FILE = "class_names.json"  # optional: torch.jit.save(m, path, _extra_files={"class_names.json": ...})


class TorchModuleTeacher(ExternalTeacher):
    runtime = "torch eager"

    def __init__(self, path: Path, module, identity: str = ""):
        super().__init__(path, identity)
        self.module = module.eval()

    def _forward(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.module(torch.as_tensor(np.ascontiguousarray(x, np.float32)))
        if not isinstance(out, torch.Tensor):
            raise DataError(
                f"teacher {self.name} returned a {type(out).__name__}; a teacher's forward must return one "
                "(N, K) tensor of class scores"
            )
        return out.float().numpy()

    def latency(self, samples: np.ndarray, threads: int = 1, **options) -> dict:
        from .timing import torch_latency

        return torch_latency(self.module, samples, threads, **options)


class TorchScriptTeacher(TorchModuleTeacher):
    """A TorchScript archive. Scripted modules take no forward hooks, so this teacher is logits-only."""

    kind = "torchscript"
    has_features = False

    # Sent to a Dask worker (kdedge.cluster): a scripted module does not pickle, so the worker loads the archive
    # again from the same path (which every worker must see).
    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "module"}

    def __setstate__(self, state: dict) -> None:
        import torch

        self.__dict__.update(state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.module = torch.jit.load(str(self.path), map_location="cpu").eval()


class FactoryTeacher(TorchModuleTeacher):
    """A plain nn.Module from --factory with the file's weights: its layers can be read by feature methods."""

    kind = "weights"
    has_features = True

    def __init__(self, path: Path, module, factory: str, factory_sha256: str):
        super().__init__(path, module, identity=f"{factory}|{factory_sha256}")
        self.factory = factory

    def features(self, x: np.ndarray, layers: list[str], batch_size: int = 512) -> dict[str, np.ndarray]:
        """Outputs of named layers (module paths, via forward hooks) on raw inputs."""
        import torch

        from .. import nets

        x = torch.as_tensor(np.ascontiguousarray(x, np.float32))
        with torch.no_grad():
            parts = [nets.capture(self.module, x[i : i + batch_size], layers) for i in range(0, len(x), batch_size)]
        return {name: torch.cat([p[name] for p in parts]).numpy() for name in layers}

    def layers(self) -> list[dict]:
        from .. import nets

        return nets.layer_table(self.module, self.sample_shape)

    def describe(self) -> dict:
        return {**super().describe(), "factory": self.factory}


@teacher_kind("torchscript", (".pt", ".pts", ".torchscript"))
def load_torchscript(path: Path, factory: str | None = None) -> TorchScriptTeacher:
    """A TorchScript archive (torch.jit.save); logits only. Load only files you trust: TorchScript is code."""
    import torch

    extra = {CLASS_NAMES_FILE: ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.10 deprecates TorchScript, still loads
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    except (RuntimeError, ValueError) as exc:
        raise OptionError(
            f"{path}: not a TorchScript archive ({_first_line(exc)}); save one with torch.jit.save, or pass a "
            "state_dict with --factory package.module:build_fn"
        ) from None
    teacher = TorchScriptTeacher(path, module)
    if extra[CLASS_NAMES_FILE]:
        try:
            teacher.known_class_names = [str(n) for n in json.loads(extra[CLASS_NAMES_FILE])]
        except ValueError as exc:
            raise OptionError(f"{path}: {CLASS_NAMES_FILE} inside the archive is not a JSON list ({exc})") from None
    return teacher


def load_state_dict(path: Path) -> dict:
    """Tensors by name, without unpickling arbitrary objects."""
    import torch

    if path.name.lower().endswith(".safetensors"):
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as exc:
            raise DataError(f"{path}: not a readable safetensors file ({_first_line(exc)})") from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError for disallowed globals, RuntimeError/EOFError for damaged files
        raise DataError(
            f"{path}: cannot load it as weights with torch.load(weights_only=True) ({_first_line(exc)}); "
            "save model.state_dict() with torch.save, or use safetensors"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # a common checkpoint layout
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(f"{path}: holds a {type(state).__name__}, not a state_dict (names -> tensors)")
    return state


@teacher_kind("weights", (".safetensors", ".pth", ".pt", ".bin", ".ckpt"), needs_factory=True)
def load_weights(path: Path, factory: str | None = None) -> FactoryTeacher:
    """Weights (.safetensors, or a .pth state_dict) + --factory package.module:build_fn that builds the module."""
    from .factory import build_from_factory

    module, factory_sha = build_from_factory(factory)
    state = load_state_dict(path)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise DataError(
            f"{path}: the weights do not fit the model built by {factory} ({_first_line(exc)}); "
            "check that the factory builds the same architecture"
        ) from None
    return FactoryTeacher(path, module, factory, factory_sha)
