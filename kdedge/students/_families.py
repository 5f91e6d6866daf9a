"""Importing this module registers every student family: add one line per new family."""

from . import neural  # noqa: F401
