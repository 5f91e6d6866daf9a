"""File formats beyond .npz; importing this package registers one reader per module."""

from . import cifar, idx, image_folder, npy_pair, tabular  # noqa: F401
