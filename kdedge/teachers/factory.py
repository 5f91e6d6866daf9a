"""`--factory package.module:build_fn` (or `path/to/file.py:build_fn`): the function that builds the nn.Module a
weights file belongs to. Importing it runs the user's own code, which is what they asked for; the weights are
still loaded without pickle (safetensors) or with torch.load(weights_only=True)."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import traceback
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
        with _users_code(spec, f"importing {path}"):
            module_spec.loader.exec_module(module)
        return module
    try:
        with _users_code(spec, f"importing {module_part}"):
            return importlib.import_module(module_part)
    except ImportError as exc:
        raise OptionError(
            f"--factory {spec}: cannot import {module_part} ({exc}); install it, add its folder to PYTHONPATH, "
            f"or name the file: --factory path/to/{module_part.rsplit('.', 1)[-1]}.py:build_fn"
        ) from None


@contextlib.contextmanager
def _users_code(spec: str, doing: str):
    """The factory is the user's code: its failure (a SyntaxError, an exception in build_fn) is theirs to fix, said
    in one line with where it happened; an ImportError is left to the caller, which explains PYTHONPATH."""
    try:
        yield
    except ImportError:
        raise
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:
        where = ""
        if isinstance(exc, SyntaxError):
            where = f" at {exc.filename}:{exc.lineno}"
        elif exc.__traceback__ is not None:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where = f" at {frame.filename}:{frame.lineno}"
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise OptionError(
            f"--factory {spec}: {doing} raised {type(exc).__name__}{where}: {first}; fix the factory"
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
    with _users_code(spec, f"calling {fn_name}()"):
        model = fn()
    if not isinstance(model, torch.nn.Module):
        raise OptionError(f"--factory {spec}: {fn_name}() returned {type(model).__name__}, not a torch.nn.Module")
    try:
        source = Path(inspect.getsourcefile(fn) or "")
        digest = hashlib.sha256(source.read_bytes()).hexdigest() if source.is_file() else ""
    except (TypeError, OSError):
        digest = ""
    return model, digest
