"""Deterministic .skops files: the same fitted model gives the same bytes, so `weights_sha256` (what teacher caches
and born-again chains key on) holds across reruns with the same seed.

`skops.io.dumps` is not deterministic: it names array members and `__id__` references after Python object ids, stamps
each zip member with the current time, and copies numpy structured arrays (a tree's node table) with their padding
bytes uninitialised. `canonical` rewrites the archive: ids renumbered in order of appearance (shared references stay
shared), a fixed timestamp, members in name order, padding zeroed. `skops.io.load` reads the result as before.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

SCHEMA = "schema.json"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold


def canonical(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    ids: dict[int, int] = {}
    schema = _renumber(json.loads(members.pop(SCHEMA)), ids)
    renamed = {SCHEMA: json.dumps(schema, sort_keys=True).encode()}
    for name, content in members.items():
        stem, dot, suffix = name.partition(".")
        new_name = f"{ids.setdefault(int(stem), len(ids))}{dot}{suffix}" if stem.isdigit() else name
        renamed[new_name] = _zero_padding(content) if suffix == "npy" else content
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in sorted(renamed):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, renamed[name])
    return out.getvalue()


def _renumber(node, ids: dict[int, int]):
    """The schema with every object id (`__id__`, and the ids naming array files) replaced by its first-seen rank."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "__id__" and isinstance(value, int):
                out[key] = ids.setdefault(value, len(ids))
            elif key == "file" and isinstance(value, str) and value.partition(".")[0].isdigit():
                stem, dot, suffix = value.partition(".")
                out[key] = f"{ids.setdefault(int(stem), len(ids))}{dot}{suffix}"
            else:
                out[key] = _renumber(value, ids)
        return out
    if isinstance(node, list):
        return [_renumber(v, ids) for v in node]
    return node


def _zero_padding(content: bytes) -> bytes:
    """An .npy member with the padding bytes of a structured dtype set to zero (other arrays unchanged)."""
    try:
        array = np.load(io.BytesIO(content), allow_pickle=False)
    except ValueError:  # an object array: skops stores those otherwise; leave the bytes as they are
        return content
    if array.dtype.names is None:
        return content
    clean = np.zeros(array.shape, array.dtype)
    for name in array.dtype.names:
        clean[name] = array[name]
    buffer = io.BytesIO()
    np.save(buffer, clean, allow_pickle=False)
    return buffer.getvalue()
