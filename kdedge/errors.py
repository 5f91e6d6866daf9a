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
