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

Samples = Annotated[
    int | None, typer.Option(help="digits-shift: training canvases (default 10000; val 20 %, test 30 % as many).")
]
Canvas = Annotated[int | None, typer.Option(help="digits-shift: canvas side in pixels (default 16).")]
PixelNoise = Annotated[float | None, typer.Option(help="digits-shift: noise std on the 0-16 pixel scale (default 1).")]


def reader_options(
    label_column=None, header=None, image_size=None, image_channels=None, samples=None, canvas=None, pixel_noise=None
) -> dict:
    """The reader options the user gave (unset ones left out, so each reader sees only what applies)."""
    given = {
        "label_column": label_column,
        "header": header,
        "image_size": image_size,
        "image_channels": image_channels,
        "samples": samples,
        "canvas": canvas,
        "pixel_noise": pixel_noise,
    }
    return {k: v for k, v in given.items() if v is not None}
