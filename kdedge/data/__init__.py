"""Data sets: the `Dataset` with fixed splits, built-in data and readers for user files (numpy only)."""

from .dataset import Dataset, Normalization, fingerprint_arrays
from .readers import BUILTINS, READERS, load_dataset

__all__ = ["BUILTINS", "READERS", "Dataset", "Normalization", "fingerprint_arrays", "load_dataset"]
