"""A restricted unpickler for CIFAR's python batches: plain containers and numpy arrays, nothing else.

A pickle is a program: `pickle.load` on a user's file can call any importable function (os.system included). This
unpickler resolves only the handful of globals that numpy arrays need and refuses every other one, so loading can
build dicts, lists, tuples, str, bytes, numbers and numeric numpy arrays, and cannot run anything else.
"""

from __future__ import annotations

import io
import pickle

import numpy as np

from ...errors import DataError

try:  # numpy >= 2 moved the module; pickles written by either name the one their numpy had
    from numpy._core.multiarray import _reconstruct as _numpy_reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct as _numpy_reconstruct


class Refused(pickle.UnpicklingError):
    """The pickle asks for something outside the allow-list (as opposed to being cut off or damaged)."""


def _reconstruct(subtype, shape, dtype_code):
    if subtype is not np.ndarray:
        raise Refused(f"refusing to build {subtype!r}: only plain numpy arrays are allowed")
    return _numpy_reconstruct(subtype, shape, dtype_code)


def _dtype(*args):
    dtype = np.dtype(*args)
    if dtype.hasobject:  # an object array's contents would be arbitrary pickled objects
        raise Refused("refusing a numpy array of Python objects")
    return dtype


def _latin1_encode(text, encoding="utf-8"):
    # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(str, "latin1"); nothing else is needed.
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise Refused(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # pickles from numpy 1.x (the CIFAR files)
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # pickles from numpy 2.x
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _latin1_encode,
}


# What a cut-off or corrupted pickle raises on the way (none of it after anything has run: nothing can run).
DAMAGED = (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError, MemoryError)


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise Refused(f"global '{module}.{name}' is not allowed") from None

    def persistent_load(self, pid):
        raise Refused("persistent ids are not allowed")


def load_restricted(data: bytes, source: str):
    """Unpickle `data` allowing only containers, scalars and numeric numpy arrays; DataError otherwise."""
    try:
        # latin1 turns Python 2 str (CIFAR was pickled by Python 2) into str, as numpy expects for array data.
        return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except Refused as exc:
        raise DataError(
            f"{source}: refused to unpickle ({exc}); a CIFAR batch holds only dicts, lists, strings and numpy arrays"
        ) from None
    except DAMAGED as exc:
        raise DataError(f"{source}: truncated or damaged pickle ({type(exc).__name__}: {exc})") from None
