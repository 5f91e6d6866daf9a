"""The options every command that reads --data shares: the format and the readers' own options."""

from __future__ import annotations

from typing import Annotated

import typer

DataFormat = Annotated[
    str | None,
    typer.Option("--format", help="Force the data format: npz, npy, csv, images, cifar, idx (default: detected)."),
]
LabelColumn = Annotated[
    str | None,
    typer.Option(help="CSV: label column, a header name or 0-based index (default: last). CIFAR-100: coarse_labels."),
]
Header = Annotated[
    bool | None,
    typer.Option("--header/--no-header", help="CSV: whether the first row is a header (default: detected)."),
]
ImageSize = Annotated[str | None, typer.Option(help="Image folders: resize to S or HxW pixels, e.g. 32 or 32x24.")]
ImageChannels = Annotated[
    int | None, typer.Option(help="Image folders: 1 (grayscale) or 3 (RGB) (default: 1 if every image is grayscale).")
]


def reader_options(label_column=None, header=None, image_size=None, image_channels=None) -> dict:
    """The reader options the user gave (unset ones left out, so each reader sees only what applies)."""
    given = {"label_column": label_column, "header": header, "image_size": image_size, "image_channels": image_channels}
    return {k: v for k, v in given.items() if v is not None}
