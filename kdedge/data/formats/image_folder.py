"""Image folders: ROOT/<class name>/*.png|jpg|... (the layout of torchvision's ImageFolder); classes in sorted order."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import DataError, require
from ..dataset import Dataset
from ..readers import ReaderOption, reader

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def parse_image_size(value) -> tuple[int, int]:
    """`28` (square), `32x24` / `32,24` (height x width), or [h, w]."""
    is_pair = isinstance(value, (list, tuple))
    parts = list(value) if is_pair else str(value).lower().replace(",", "x").split("x")
    try:
        size = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError("expected an integer size like 28 or HxW like 32x24") from None
    if len(size) == 1:
        size = size * 2
    if len(size) != 2 or min(size) < 1:
        raise ValueError("expected a positive size like 28 or HxW like 32x24")
    return size


def parse_channels(value) -> int:
    channels = int(value)
    if channels not in (1, 3):
        raise ValueError("1 (grayscale) or 3 (RGB)")
    return channels


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def looks_like_image_folder(path: Path) -> bool:
    return path.is_dir() and any(any(_is_image(f) for f in d.iterdir()) for d in _class_folders(path))


def _header(image_module, path: Path) -> tuple[tuple[int, int], str]:
    """(width, height) and mode, from the file header only."""
    try:
        with image_module.open(path) as image:
            return image.size, image.mode
    except image_module.DecompressionBombError as exc:
        raise _bomb(path, exc) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"{path}: not a readable image ({exc}); remove or replace the file") from exc


def _bomb(path: Path, exc: Exception) -> DataError:
    # Pillow refuses to decode an image whose header claims far more pixels than any real photo: say which file
    return DataError(f"{path}: refused to decode ({exc}); remove the file or shrink the image")


def _pixels(image_module, path: Path, mode: str, height: int, width: int) -> np.ndarray:
    try:
        with image_module.open(path) as image:
            image = image.convert(mode)  # decodes the whole file: a truncated one fails here, with its name
    except image_module.DecompressionBombError as exc:
        raise _bomb(path, exc) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"{path}: cannot decode this image ({exc}); remove or replace the file") from exc
    if image.size != (width, height):
        image = image.resize((width, height), image_module.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


@reader(
    "images",
    detect=looks_like_image_folder,
    options={
        "image_size": ReaderOption(parse_image_size, "resize every image to S or HxW pixels"),
        "image_channels": ReaderOption(parse_channels, "1 = grayscale, 3 = RGB (default: 1 if all are grayscale)"),
    },
)
def read_image_folder(
    path: Path, seed: int = 0, image_size: tuple[int, int] | None = None, image_channels: int | None = None
) -> Dataset:
    """A folder with one sub-folder of images per class (--image-size, --image-channels)."""
    pil = require("PIL.Image", "train")
    if not path.is_dir():
        raise DataError(f"{path}: an image data set is a folder with one sub-folder of images per class")
    folders = _class_folders(path)
    if not folders:
        raise DataError(f"{path}: empty folder; put the images in one sub-folder per class (ROOT/cat/001.png, ...)")
    files = {d.name: sorted(f for f in d.iterdir() if _is_image(f)) for d in folders}
    empty = [name for name, found in files.items() if not found]
    if empty:
        raise DataError(
            f"{path}: class folder(s) {empty[:5]} hold no images ({', '.join(IMAGE_SUFFIXES)}); "
            "add images or remove the folders"
        )
    items = [(file, label) for label, name in enumerate(files) for file in files[name]]
    headers = [_header(pil, file) for file, _ in items]  # sizes and modes before decoding anything
    if image_channels is None:
        image_channels = 1 if all(mode in GRAY_MODES for _, mode in headers) else 3
    if image_size is None:
        sizes = {size for size, _ in headers}  # PIL sizes are (width, height)
        if len(sizes) > 1:
            shown = sorted(f"{h}x{w}" for w, h in sizes)[:3]
            raise DataError(f"{path}: images differ in size ({', '.join(shown)}...); pass --image-size 32 or HxW")
        ((w, h),) = sizes
        image_size = (h, w)
    height, width = image_size
    mode = "L" if image_channels == 1 else "RGB"
    x = np.empty((len(items), image_channels, height, width), np.float32)
    for i, (file, _) in enumerate(items):
        x[i] = _pixels(pil, file, mode, height, width)
    y = np.asarray([label for _, label in items], np.int64)
    return Dataset(path.name, x, y, list(files), seed=seed)
