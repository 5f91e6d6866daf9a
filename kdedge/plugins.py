"""Plug-ins: student families, methods, transfer kinds, data readers and export targets from other packages.

A package declares Python entry points in one of `GROUPS`; each names a module (or an object in one) that registers
its entries with kdedge's own decorators when imported, e.g. in its pyproject.toml:

    [project.entry-points."kdedge.students"]
    widemlp = "my_package.students"      # the module does @kdedge.students.register on its Student class

    [project.entry-points."kdedge.targets"]
    my-board = "my_package:PROFILES"     # a folder of export-profile TOML files (a str or Path)

The first registry lookup loads them all, once. A plug-in that fails to import is skipped with a warning naming it
and the error, so one broken package cannot stop kdedge; a plug-in that reuses a taken name is refused.
"""

from __future__ import annotations

import warnings
from importlib.metadata import entry_points

GROUPS = ("kdedge.students", "kdedge.methods", "kdedge.transfers", "kdedge.readers", "kdedge.targets")
_objects: dict[str, list] | None = None


def load_plugins() -> dict[str, list]:
    """Import every declared plug-in once; returns the loaded objects by group."""
    global _objects
    if _objects is not None:
        return _objects
    _objects = {group: [] for group in GROUPS}  # set first: a plug-in that imports kdedge must not recurse here
    for group in GROUPS:
        for entry in entry_points(group=group):
            try:
                _objects[group].append(entry.load())
            except ValueError:  # a name registered twice: a real conflict, say so loudly
                raise
            except Exception as exc:  # noqa: BLE001  (any import-time failure of someone else's package)
                warnings.warn(
                    f"kdedge plug-in {entry.name!r} ({entry.value}, group {group}) was not loaded: {exc}", stacklevel=2
                )
    return _objects


def loaded_plugins() -> list[tuple[str, str, str]]:
    """(group, name, value) of every declared plug-in, for `kdedge students` and friends to show."""
    return [(group, e.name, e.value) for group in GROUPS for e in entry_points(group=group)]
