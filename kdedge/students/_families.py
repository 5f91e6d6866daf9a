"""Importing this module registers every student family: add one line per new family."""

from . import (
    ensemble,  # noqa: F401
    forest,  # noqa: F401
    gbdt,  # noqa: F401
    neural,  # noqa: F401
    svm,  # noqa: F401
    tree,  # noqa: F401
)
