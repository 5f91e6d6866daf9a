"""Two .npy files: inputs and labels.

`--data x.npy,y.npy` names both. `--data PATH/x.npy` finds the labels beside it by swapping the name part `x` for
`y` (`x.npy` -> `y.npy`, `train_x.npy` -> `train_y.npy`, `X_train.npy` -> `Y_train.npy`). Labels are class indices
or class-name strings (then the sorted names are the classes).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...errors import DataError
from ..dataset import Dataset
from ..readers import reader
from ..validation import labels_and_names

_X_PART = re.compile(r"(^|[_.-])([xX])(?=$|[_.-])")


def labels_beside(x_path: Path) -> Path:
    stem = x_path.name[: -len(".npy")]
    found = list(_X_PART.finditer(stem))
    if len(found) != 1:
        raise DataError(
            f"{x_path}: cannot tell where its labels are (the name needs exactly one part 'x', like x.npy or "
            "train_x.npy); name both files: --data x.npy,y.npy"
        )
    m = found[0]
    y_part = "Y" if m.group(2) == "X" else "y"
    return x_path.with_name(stem[: m.start(2)] + y_part + stem[m.end(2) :] + ".npy")


def _load(path: Path, what: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: no such {what} file; pass both files: --data x.npy,y.npy") from None
    except ValueError as exc:  # object arrays (need pickle) and cut-off files both land here
        raise DataError(f"{path}: not a readable .npy without pickle, or truncated ({exc})") from exc
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: not a valid .npy file ({exc})") from exc


@reader("npy", (".npy",), pairs=True)
def read_npy_pair(path: Path, seed: int = 0) -> Dataset:
    """x.npy + y.npy (--data x.npy finds y.npy beside it; or --data x.npy,y.npy)."""
    if path.exists():
        x_path, y_path = path, labels_beside(path)
    else:
        parts = str(path).split(",")
        if len(parts) != 2:
            raise DataError(f"{path}: give two .npy files, inputs then labels: --data x.npy,y.npy")
        x_path, y_path = (Path(p) for p in parts)
    x = _load(x_path, "inputs")
    y, names = labels_and_names(_load(y_path, "labels"), None, y_path.name)
    return Dataset(x_path.name, x, y, names, seed=seed)
