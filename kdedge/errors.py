"""Errors a user can fix. The CLI prints the message as one line and exits 2."""


class KdedgeError(Exception):
    """Base class: the message names the problem and the fix."""


class DataError(KdedgeError):
    """A data set is missing, malformed, or does not fit the model."""


class RunError(KdedgeError):
    """A run directory is missing, incomplete, or of the wrong kind."""


class OptionError(KdedgeError):
    """An option or recipe value is not allowed."""


class ExportError(KdedgeError):
    """Conversion to ONNX failed or the exported graph does not match the native model."""


class MissingExtraError(KdedgeError):
    """A command needs packages from an optional extra that is not installed."""


def require(module: str, extra: str = "train"):
    """Import `module`, or explain which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"this command needs '{module}', which is not installed; install it with: pip install 'kdedge[{extra}]'"
        ) from exc


# Top-level modules that only an extra installs (module -> extra); a missing one means the command needs that extra.
EXTRA_MODULES = {
    **dict.fromkeys(
        ("torch", "onnx", "onnxscript", "skl2onnx", "onnxmltools", "sklearn", "lightgbm", "safetensors", "skops",
         "optuna"),
        "train",
    ),
    **dict.fromkeys(("treelite", "tl2cgen", "m2cgen"), "c"),
}  # fmt: skip
TRAIN_EXTRA_MODULES = frozenset(m for m, extra in EXTRA_MODULES.items() if extra == "train")


def missing_extra(exc: ModuleNotFoundError) -> MissingExtraError | None:
    """The MissingExtraError for an import that failed because an optional extra is not installed, else None."""
    top = (exc.name or "").split(".")[0]
    if top not in EXTRA_MODULES:
        return None
    extra = EXTRA_MODULES[top]
    return MissingExtraError(
        f"this command needs '{top}', which is not installed; install it with: pip install 'kdedge[{extra}]'"
    )


class BoardError(KdedgeError):
    """A board reached over SSH (`kdedge bench --on`) could not be used; kdedge/measure/board/ssh.py says why."""
