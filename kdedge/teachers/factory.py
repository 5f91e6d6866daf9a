"""`--factory package.module:build_fn` (or `path/to/file.py:build_fn`): the function that builds the nn.Module a
weights file belongs to. Importing it runs the user's own code, which is what they asked for; the weights are
still loaded without pickle (safetensors) or with torch.load(weights_only=True)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
from pathlib import Path

from ..errors import OptionError


def _import(module_part: str, spec: str):
    if module_part.endswith(".py"):
        path = Path(module_part)
        if not path.is_file():
            raise OptionError(f"--factory {spec}: no such file {path}")
        name = "kdedge_factory_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(module_part)
    except ImportError as exc:
        raise OptionError(
            f"--factory {spec}: cannot import {module_part} ({exc}); install it, add its folder to PYTHONPATH, "
            f"or name the file: --factory path/to/{module_part.rsplit('.', 1)[-1]}.py:build_fn"
        ) from None


def build_from_factory(spec: str):
    """(module built by the factory, sha256 of the factory's source file or '')."""
    import torch

    module_part, sep, fn_name = spec.rpartition(":")
    if not sep or not module_part or not fn_name:
        raise OptionError(f"--factory {spec!r}: expected package.module:function or path/to/file.py:function")
    fn = getattr(_import(module_part, spec), fn_name, None)
    if not callable(fn):
        raise OptionError(f"--factory {spec}: {module_part} has no function {fn_name!r}")
    model = fn()
    if not isinstance(model, torch.nn.Module):
        raise OptionError(f"--factory {spec}: {fn_name}() returned {type(model).__name__}, not a torch.nn.Module")
    try:
        source = Path(inspect.getsourcefile(fn) or "")
        digest = hashlib.sha256(source.read_bytes()).hexdigest() if source.is_file() else ""
    except (TypeError, OSError):
        digest = ""
    return model, digest
