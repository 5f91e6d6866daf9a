"""Data sets: the `Dataset` with fixed splits, built-in data and readers for user files (numpy only)."""

from .dataset import Dataset, Normalization, fingerprint_arrays
from .ondisk import StreamingRows, open_rows
from .readers import BUILTINS, READERS, load_dataset

__all__ = [
    "BUILTINS",
    "READERS",
    "Dataset",
    "Normalization",
    "StreamingRows",
    "fingerprint_arrays",
    "load_dataset",
    "open_rows",
]
