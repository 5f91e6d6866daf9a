"""CSV / TSV tables: one sample per row, numeric feature columns and one label column (indices or names)."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np

from ...errors import DataError
from ..dataset import Dataset
from ..readers import ReaderOption, reader
from ..validation import labels_and_names

DELIMITERS = ",;\t"


def parse_label_column(value) -> int | str:
    """An integer index (0-based, negative from the end) or a header name."""
    if isinstance(value, bool):
        raise ValueError("give a column name or a 0-based index")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        raise ValueError("give a column name or a 0-based index")
    try:
        return int(text)
    except ValueError:
        return text


def parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise ValueError("expected true or false")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", newline="", encoding="utf-8-sig")
    return open(path, newline="", encoding="utf-8-sig")


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, cells) for every non-blank row."""
    try:
        with _open_text(path) as f:
            text = f.read()
    except (OSError, EOFError, UnicodeDecodeError) as exc:  # a cut-off .gz, or not text at all
        raise DataError(f"{path}: cannot read it as UTF-8 text ({exc}); is it a truncated or binary file?") from exc
    if ".tsv" in path.name.lower():
        delimiter = "\t"
    else:
        try:
            delimiter = csv.Sniffer().sniff(text[:8192], delimiters=DELIMITERS).delimiter
        except csv.Error:
            delimiter = ","
    reader_ = csv.reader(io.StringIO(text), delimiter=delimiter)
    return [(reader_.line_num, [c.strip() for c in row]) for row in reader_ if any(c.strip() for c in row)]


def _looks_like_header(rows: list[tuple[int, list[str]]]) -> bool:
    """A header has a non-number where the next row has a number (or is all non-numbers, when alone)."""
    first = rows[0][1]
    if len(rows) == 1:
        return not any(_is_number(c) for c in first)
    second = rows[1][1]
    return any(not _is_number(a) and _is_number(b) for a, b in zip(first, second, strict=True))


def _label_index(label_column, names: list[str] | None, width: int, path: Path) -> int:
    if isinstance(label_column, str):
        if names is None:
            raise DataError(f"{path}: --label-column {label_column!r} names a column, but the file has no header row")
        if label_column not in names:
            raise DataError(f"{path}: no column named {label_column!r}; columns are {names[:12]}")
        return names.index(label_column)
    if not -width <= label_column < width:
        raise DataError(f"{path}: --label-column {label_column} is outside the {width} columns (0..{width - 1})")
    return label_column % width


def _raise_first_bad_cell(rows, cells, label: int, names, path: Path) -> None:
    for (line, _), values in zip(rows, cells, strict=True):
        for j, cell in enumerate(values):
            if not _is_number(cell):
                col = j if j < label else j + 1
                where = f"line {line}, column {names[col] if names else col}"
                what = "a missing value" if cell == "" else f"{cell!r} is not a number"
                raise DataError(f"{path}: {where}: {what}; feature columns must be numeric")


def _features(rows, label: int, names, path: Path) -> np.ndarray:
    cells = [r[:label] + r[label + 1 :] for _, r in rows]
    try:
        x = np.asarray(cells, dtype=np.float64)
    except ValueError:
        _raise_first_bad_cell(rows, cells, label, names, path)
        raise
    bad = ~np.isfinite(x)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(
            f"{path}: {int(bad.sum())} NaN/Inf values (first at line {rows[i][0]}, feature {j}); "
            "clean or drop those rows"
        )
    return x


@reader(
    "csv",
    (".csv", ".tsv", ".csv.gz", ".tsv.gz"),
    options={
        "label_column": ReaderOption(parse_label_column, "label column: a header name or 0-based index (default -1)"),
        "header": ReaderOption(parse_bool, "whether the first row names the columns (default: detected)", flag=True),
    },
)
def read_csv(path: Path, seed: int = 0, label_column: int | str = -1, header: bool | None = None) -> Dataset:
    """CSV/TSV rows of numeric features plus a label column (class indices or names)."""
    rows = _rows(path)
    if not rows:
        raise DataError(f"{path}: the file has no rows")
    width = len(rows[0][1])
    for line, row in rows:
        if len(row) != width:
            raise DataError(
                f"{path}: line {line} has {len(row)} fields but line {rows[0][0]} has {width}; "
                "every row needs the same columns (ragged rows)"
            )
    if width < 2:
        raise DataError(f"{path}: rows have {width} column; a sample needs features and a label column")
    if header is None:
        header = _looks_like_header(rows)
    names = rows[0][1] if header else None
    data = rows[1:] if header else rows
    if not data:
        raise DataError(f"{path}: a header and no data rows")
    label = _label_index(label_column, names, width, path)
    x = _features(data, label, names, path)
    raw = [r[label] for _, r in data]
    if "" in raw:
        line = data[raw.index("")][0]
        raise DataError(f"{path}: line {line} has no label; every row needs one")
    numeric = all(_is_number(v) for v in raw)
    y = np.asarray([float(v) for v in raw]) if numeric else np.asarray(raw, dtype=str)
    y, class_names = labels_and_names(y, None, path.name)
    return Dataset(path.name, x, y, class_names, seed=seed)
