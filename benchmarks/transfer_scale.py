"""Transfer sets beyond memory: peak RSS and time of teacher targets + one epoch of MLP distillation, streamed from
memory-mapped .npy files, for 10k, 100k and 1M synthetic samples of 784 features (10 classes).

    KDEDGE_QUIET=1 .venv/bin/python benchmarks/transfer_scale.py --out benchmarks/results/transfer_scale.md

Each size runs in a fresh process (so its peak RSS, VmHWM, is its own): the inputs are written to disk first by
another process, then the measured one computes the teacher's logits into RUN/targets/*.npy (memmap), reruns that
call to show the cache hit, and trains an MLP student for one epoch with KD, reading batches from the memmaps.
`--mode plain` hands the training loop the plain np.memmap instead of kdedge.data.ondisk.StreamingRows, to show
what the page release buys; `--mode ram` loads the inputs into memory first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _report import emit

FEATURES, CLASSES = 784, 10
CHUNK = 50_000
VAL = 10_000


def status_kb(*fields: str) -> dict[str, int]:
    """Fields of /proc/self/status in kB (VmHWM = peak resident set, RssAnon / RssFile = its two parts now)."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in fields:
            found[key] = int(value.split()[0])
    return found


def centroids(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((CLASSES, FEATURES)).astype(np.float32)


def sample(n: int, rng: np.random.Generator, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class centroid plus noise: separable enough for a teacher, noisy enough for soft targets to matter."""
    y = rng.integers(0, CLASSES, n)
    return (centres[y] + 2.0 * rng.standard_normal((n, FEATURES), dtype=np.float32)).astype(np.float32), y


# -- phase 1: write the transfer set to disk (own process, not measured) --


def generate(n: int, folder: Path) -> None:
    from kdedge.data.ondisk import release_pages

    folder.mkdir(parents=True, exist_ok=True)
    rng, centres = np.random.default_rng(n), centroids()
    x = np.lib.format.open_memmap(folder / "x.npy", mode="w+", dtype=np.float32, shape=(n, FEATURES))
    y = np.lib.format.open_memmap(folder / "y.npy", mode="w+", dtype=np.int64, shape=(n,))
    for start in range(0, n, CHUNK):
        rows = min(CHUNK, n - start)
        x[start : start + rows], y[start : start + rows] = sample(rows, rng, centres)
        release_pages(x)
    x.flush()
    y.flush()


# -- phase 2: a TorchScript MLP teacher trained on a small in-memory sample (once) --


def make_teacher(path: Path) -> None:
    import torch

    torch.manual_seed(0)
    x, y = sample(20_000, np.random.default_rng(1), centroids())
    module = torch.nn.Sequential(
        torch.nn.Linear(FEATURES, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, CLASSES),
    )
    opt = torch.optim.Adam(module.parameters(), 1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(3):
        for idx in torch.randperm(len(x)).split(256):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(module(xt[idx]), yt[idx]).backward()
            opt.step()
    module.eval()
    torch.jit.save(torch.jit.script(module), str(path))


# -- phase 3: the measured process --


def measure(n: int, folder: Path, teacher_path: Path, mode: str) -> dict:
    import torch

    from kdedge.data import Dataset
    from kdedge.data.ondisk import StreamingRows, open_rows
    from kdedge.distillation.loop import Batches, TrainConfig, train
    from kdedge.distillation.methods import make_method
    from kdedge.distillation.targets import teacher_logits
    from kdedge.jobs import resolve
    from kdedge.nets import build
    from kdedge.target_cache import TargetCache

    torch.set_num_threads(1)  # with other jobs on the cores, 2 threads spin-wait: ~20x slower per step here
    x_val, y_val = sample(VAL, np.random.default_rng(2), centroids())
    validation = Dataset("synthetic-val", x_val, y_val, [str(k) for k in range(CLASSES)], seed=0)
    teacher = resolve(teacher_path, data=validation).teacher  # shape and classes checked on labelled data
    baseline = status_kb("VmRSS")["VmRSS"]

    x_rows = open_rows(folder / "x.npy")
    y_rows = open_rows(folder / "y.npy")
    if mode == "ram":
        x_rows, y_rows = np.load(folder / "x.npy"), np.load(folder / "y.npy")
    cache = TargetCache(folder / "cache")
    shutil.rmtree(cache.folder, ignore_errors=True)

    t0 = time.perf_counter()
    targets = teacher_logits(teacher, x_rows, "transfer", cache, batch_size=4096).logits
    targets_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    teacher_logits(teacher, x_rows, "transfer", cache, batch_size=4096)  # same teacher, same inputs: cache hit
    cache_hit_s = time.perf_counter() - t0
    after_targets = status_kb("VmHWM")["VmHWM"]

    if mode == "plain":  # the memmaps themselves: every page read stays resident until memory is short
        x_rows, y_rows = x_rows.array, y_rows.array
    elif mode == "stream":
        targets = StreamingRows(targets)
    train_data = Batches(x_rows, y_rows, targets)
    val_logits = teacher.logits(x_val)
    val_data = Batches(x_val, y_val, val_logits)
    student = build(
        "mlp", (FEATURES,), CLASSES, validation.normalization.mean, validation.normalization.std, hidden=(128,)
    )
    method = make_method("kd", temperature=4.0, alpha=0.9)
    t0 = time.perf_counter()
    fit = train(student, method.loss, train_data, val_data, TrainConfig(epochs=1, batch_size=256, patience=1), seed=0)
    epoch_s = time.perf_counter() - t0
    with torch.no_grad():
        student_acc = float((student(torch.from_numpy(x_val)).argmax(1).numpy() == y_val).mean())
    end = status_kb("VmHWM", "VmRSS", "RssAnon", "RssFile")
    return {
        "n": n,
        "mode": mode,
        "file_mb": (folder / "x.npy").stat().st_size / 2**20,
        "targets_s": targets_s,
        "cache_hit_s": cache_hit_s,
        "epoch_s": epoch_s,
        "baseline_mb": baseline / 1024,
        "peak_after_targets_mb": after_targets / 1024,
        "peak_mb": end["VmHWM"] / 1024,
        "end_anon_mb": end["RssAnon"] / 1024,
        "end_file_mb": end["RssFile"] / 1024,
        "teacher_val_accuracy": teacher.probe_accuracy,
        "student_val_accuracy": student_acc,
        "val_accuracy_after_epoch": fit["val_accuracy"],
    }


def run_child(*args) -> str:
    env = {**os.environ, "KDEDGE_QUIET": "1"}
    return subprocess.run(
        [sys.executable, __file__, *map(str, args)], check=True, capture_output=True, text=True, env=env
    ).stdout


def table(rows: list[dict]) -> str:
    lines = [
        "| samples | mode | x.npy | targets (hash + teacher) | cache hit (hash) | 1 epoch KD | RSS after imports "
        "| peak RSS (VmHWM) | peak − imports | student val acc |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['mode']} | {r['file_mb']:,.0f} MB | {r['targets_s']:.1f} s | {r['cache_hit_s']:.1f} s "
            f"| {r['epoch_s']:.1f} s | {r['baseline_mb']:,.0f} MB | {r['peak_mb']:,.0f} MB "
            f"| {r['peak_mb'] - r['baseline_mb']:,.0f} MB | {r['student_val_accuracy']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--modes", default="stream", help="stream, plain and/or ram, comma-separated")
    parser.add_argument("--plain-sizes", default="", help="sizes to also run with --mode plain")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/kdedge-transfer-scale"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="stream", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate, args.dir / str(args.generate))
        return
    if args.measure:
        result = measure(args.measure, args.dir / str(args.measure), args.dir / "teacher.pt", args.mode)
        print(json.dumps(result))
        return

    args.dir.mkdir(parents=True, exist_ok=True)
    make_teacher(args.dir / "teacher.pt")
    rows = []
    sizes = [int(s) for s in args.sizes.split(",")]
    extra = {int(s) for s in args.plain_sizes.split(",") if s}
    for n in sizes:
        t0 = time.perf_counter()
        run_child("--generate", n, "--dir", args.dir)
        print(f"{n:,}: generated in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        modes = args.modes.split(",") + (["plain"] if n in extra and "plain" not in args.modes else [])
        for mode in modes:
            rows.append(json.loads(run_child("--measure", n, "--dir", args.dir, "--mode", mode)))
            print(json.dumps(rows[-1]), file=sys.stderr)
        if not args.keep:
            shutil.rmtree(args.dir / str(n))
    import torch

    text = (
        "# Transfer sets beyond memory\n\n"
        f"`KDEDGE_QUIET=1 .venv/bin/python benchmarks/transfer_scale.py --sizes {args.sizes} --modes {args.modes}"
        + (f" --plain-sizes {args.plain_sizes}" if args.plain_sizes else "")
        + f"` on {platform.machine()}, {os.cpu_count()} cores (shared with other jobs), torch {torch.__version__}, "
        "numpy " + np.__version__ + ".\n\n"
        "Synthetic inputs: 784 float32 features, 10 classes, written to a memory-mapped `x.npy` by another process. "
        "Teacher: a TorchScript MLP 784-256-256-10 (`--teacher teacher.pt`). Student: MLP 784-128-10, KD T=4 "
        "α=0.9, batch 256, one epoch. *targets* = chunked sha256 of the inputs + teacher logits written into "
        "an entry of the shared teacher-output cache (memmap); *cache hit* = the same call again (hash only). "
        "Peak RSS is VmHWM of the measuring process, which includes file pages of the memmaps it touched; "
        "*stream* trains through `kdedge.data.ondisk.StreamingRows` (rows by pread, so no page of the file stays in "
        "the process), *plain* hands the np.memmap straight to the loop, *ram* loads the inputs first.\n\n"
        + table(rows)
        + "\n\n*stream* keeps the peak flat (about 120 MB above the imports) from 10k to 1M samples, at the price "
        "of slower epochs (one pread per shuffled row); *plain* and *ram* grow with the set. Student val acc is a "
        "sanity check only: the synthetic classes are separable.\n"
    )
    emit(text, args.out)


if __name__ == "__main__":
    main()
