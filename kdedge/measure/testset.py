"""A test split saved to one .npz, with the description of the data it came from, so that a board measures the very
samples the workstation would (`kdedge bench --on`): `kdedge bench --test-set FILE` reads it as it is, without
splitting it again, and reports the original data's name and fingerprint (no spurious "other data" notes).

numpy only, like the rest of kdedge.measure; the description travels as a JSON string (no pickle).
"""

from __future__ import annotations

import json
from pathlib import Path
from zipfile import BadZipFile

import numpy as np

from ..errors import DataError


def save_test_set(path, x: np.ndarray, y: np.ndarray, description: dict) -> None:
    """Write x (float32), y (int64) and `description` (`Dataset.describe()`) to `path` (.npz)."""
    with open(path, "wb") as f:
        x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
        np.savez(f, x=x, y=y, describe=np.asarray(json.dumps(description)))


class TestSet:
    """The part of a `Dataset` a bench uses: `split("test")`, `describe()`, the shape, classes and fingerprint."""

    __test__ = False  # not a pytest class

    def __init__(self, x: np.ndarray, y: np.ndarray, description: dict):
        self.x, self.y, self.description = x, y, description
        self.name = description["name"]
        self.fingerprint = description["fingerprint"]
        self.seed = description["seed"]
        self.sample_shape = tuple(description["sample_shape"])
        self.n_classes = int(description["n_classes"])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name != "test":
            raise DataError(f"a saved test set holds only the test split, not {name!r}")
        return self.x, self.y

    def describe(self) -> dict:
        return dict(self.description)


def load_test_set(path) -> TestSet:
    """A file `save_test_set` wrote; one DataError naming it if it is not one."""
    path = Path(path)
    fix = "write it again with kdedge bench --on (it saves the test split it sends)"
    try:
        with np.load(path, allow_pickle=False) as f:
            x, y, description = f["x"], f["y"], json.loads(str(f["describe"]))
    except FileNotFoundError:
        raise DataError(f"--test-set {path}: no such file; {fix}") from None
    except (OSError, ValueError, KeyError, EOFError, BadZipFile) as exc:
        raise DataError(f"--test-set {path}: not a saved test set ({exc}); {fix}") from None
    if (
        x.dtype != np.float32
        or y.dtype != np.int64
        or len(x) != len(y)
        or x.shape[1:] != tuple(description.get("sample_shape", ()))
    ):
        raise DataError(f"--test-set {path}: its arrays do not match its description; {fix}")
    return TestSet(x, y, description)
