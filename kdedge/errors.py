"""Errors a user can fix. The CLI prints the message as one line and exits 2."""

import errno
import os
import re


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


# What a file system can refuse that the user, not kdedge, has to fix (errno -> the fix), reported as one line.
FS_FIXES = {
    errno.ENOSPC: "free space or write elsewhere",
    errno.EDQUOT: "free space or write elsewhere",
    errno.EFBIG: "free space, raise the file size limit (ulimit -f) or write elsewhere",
    errno.EROFS: "write to a writable folder",
    errno.EACCES: "fix the permissions or choose another path",
    errno.EPERM: "fix the permissions or choose another path",
    errno.EISDIR: "give a file path, not a folder",
    errno.ENOTDIR: "a part of the path is a file; fix the path",
    errno.ENAMETOOLONG: "choose a shorter path",
}
_OS_ERROR_IN_TEXT = re.compile(r"\(os error (\d+)\)")  # how Rust libraries (safetensors) report an errno
_FULL_IN_WORDS = ("file write failed", "unexpected pos", "database or disk is full", "disk I/O error")
_PARTIAL = re.compile(r"(?<![^/])\.([^/]+)\.[a-z0-9_]{8}\.partial(?=/|$)")  # kdedge._io's temporary names


def _os_error_inside(exc: BaseException | None) -> OSError | None:
    """The file system's refusal behind `exc`: itself, its cause or context, or an errno that a library
    (safetensors, torch's zip writer) put only into its message."""
    for _ in range(8):
        if exc is None:
            return None
        if isinstance(exc, OSError) and exc.errno in FS_FIXES:
            return exc
        found = _OS_ERROR_IN_TEXT.search(str(exc))
        if found and int(found.group(1)) in FS_FIXES:
            number = int(found.group(1))
            return OSError(number, os.strerror(number))
        text = str(exc)
        # torch.save's zip writer and SQLite (Optuna's study) say it only in words
        if any(words in text for words in _FULL_IN_WORDS):
            return OSError(errno.ENOSPC, "a write failed (is the disk full?)")
        exc = exc.__cause__ or exc.__context__
    return None


def file_system_refusal(exc: BaseException) -> str | None:
    """One line for a write the file system refused (full, too large, read-only, no permission), else None. A file
    of a folder being built atomically is named as the folder the user asked for, not its temporary name."""
    refused = _os_error_inside(exc)
    if refused is None:
        return None
    where = "" if refused.filename is None else _PARTIAL.sub(lambda m: m.group(1), str(refused.filename)) + ": "
    return f"{where}{refused.strerror or errno.errorcode[refused.errno]}; {FS_FIXES[refused.errno]}"
