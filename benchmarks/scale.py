"""Past one machine, measured on this one: a KD epoch in 1 vs 2 DDP processes, teacher outputs on 1 vs 2 Dask workers.

Part 1 trains the same KD student (digits, a built-in teacher, ResNet-8 by default, a 10x augment transfer set on
cached targets) as `kdedge distill` does, in one process with one thread, one process with two threads, and two
gloo processes with one thread each (`--nproc 2`); the figure is rank 0's training seconds per epoch (the loop's own
clock: the processes' start-up is reported apart, as the wall time of the whole command). Part 2 computes the
teacher's outputs over a pool of augmented digits into a fresh cache entry here (one thread) and on a Dask
`LocalCluster` of 1 and of 2 worker processes with one thread each (`distill --backend dask`), and reports rows per
second including sending the inputs. Configurations are interleaved and repeated; figures are median (min-max).

    KDEDGE_QUIET=1 .venv/bin/python benchmarks/scale.py --out benchmarks/results/scale.md
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KDEDGE_QUIET", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from _report import emit

STUDENTS = {"mlp-128": ("mlp", {"hidden": "128"}), "cnn 16-32": ("cnn", {"channels": "16,32"})}
PROCESSES = {"1 process x 1 thread": (1, 1), "1 process x 2 threads": (1, 2), "2 processes x 1 thread": (2, 1)}


def spread(values: list[float], digits: int = 3) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def kd_epochs(teacher, out: Path, family: str, options: dict, nproc: int, threads: int, epochs: int) -> dict:
    import kdedge

    start = time.perf_counter()
    run = kdedge.distill(
        teacher, out=out, student=family, method="kd", transfer="augment", transfer_size="10x", epochs=epochs,
        patience=epochs, nproc=nproc, threads=threads, overwrite=True, **options,
    )  # fmt: skip
    wall = time.perf_counter() - start
    m = run.metrics
    return {"epoch_s": m["train_seconds"] / m["epochs_run"], "wall_s": wall, "test_accuracy": m["test_accuracy"]}


def target_rows_per_s(teacher, pool, scheduler: str | None) -> float:
    from kdedge.cluster import set_targets_backend
    from kdedge.compute import apply_training_threads, set_training_threads
    from kdedge.distillation.targets import teacher_logits
    from kdedge.target_cache import TargetCache

    set_targets_backend("dask" if scheduler else "local", scheduler)
    set_training_threads(1)
    apply_training_threads()  # here: one torch thread, as each worker has
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        outputs = teacher_logits(teacher, pool, "pool", cache=TargetCache(cache))
        seconds = time.perf_counter() - start
        assert not outputs.reused
    return len(pool) / seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pool", default="40x", help="pool size for part 2, as a multiple of the training split")
    parser.add_argument("--teacher", default="resnet", help="built-in teacher architecture (resnet: ResNet-8)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    import numpy as np
    from distributed import LocalCluster

    import kdedge
    from kdedge.distillation.transfer import make_transfer
    from kdedge.jobs import resolve

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["KDEDGE_CACHE_DIR"] = str(tmp / "cache")
        teacher_run = kdedge.train_teacher("digits", out=tmp / "teacher", arch=args.teacher, epochs=10, threads=1)
        teacher_path = str(teacher_run.path)

        # -- part 1: KD epochs ---------------------------------------------------------------------------------
        for family, options in STUDENTS.values():  # the teacher's outputs into the cache, outside the timings
            kd_epochs(teacher_path, tmp / "s", family, options, 1, 1, 1)
        epochs: dict = {}
        for _ in range(args.repeats):
            for student, (family, options) in STUDENTS.items():
                for label, (nproc, threads) in PROCESSES.items():
                    figures = kd_epochs(teacher_path, tmp / "s", family, options, nproc, threads, args.epochs)
                    epochs.setdefault((student, label), []).append(figures)
                    print(student, label, figures, file=sys.stderr)

        # -- part 2: teacher outputs on Dask workers ------------------------------------------------------------
        dataset = kdedge.load_data("digits")
        x_train, y_train = dataset.split("train")
        size = int(args.pool.rstrip("x"))
        pool = make_transfer("augment", transfer_size=args.pool).build(x_train, y_train, 0).x
        pool = np.ascontiguousarray(pool, np.float32)
        teacher = resolve(teacher_path, data=dataset).teacher
        rates: dict = {"here, 1 thread": []}
        clusters = {n: LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                    dashboard_address=None, env={"KDEDGE_THREADS": "1"},
                                    silence_logs=logging.ERROR) for n in (1, 2)}  # fmt: skip
        try:
            for n, cluster in clusters.items():  # warm-up: the workers import torch and receive the teacher once
                target_rows_per_s(teacher, pool[:2048], cluster.scheduler_address)
                rates[f"dask, {n} worker{'s' * (n > 1)} x 1 thread"] = []
            for _ in range(args.repeats):
                rates["here, 1 thread"].append(target_rows_per_s(teacher, pool, None))
                for n, cluster in clusters.items():
                    key = f"dask, {n} worker{'s' * (n > 1)} x 1 thread"
                    rates[key].append(target_rows_per_s(teacher, pool, cluster.scheduler_address))
                print({k: v[-1] for k, v in rates.items()}, file=sys.stderr)
        finally:
            for cluster in clusters.values():
                cluster.close()

    lines = [
        "# Past one machine, on one machine: DDP processes and Dask workers",
        "",
        f"`benchmarks/scale.py --epochs {args.epochs} --repeats {args.repeats} --pool {args.pool} --teacher "
        f"{args.teacher}` on "
        f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs (load average "
        f"{os.getloadavg()[0]:.1f} at the end), torch {__import__('torch').__version__}, gloo. Median (min-max) of "
        f"{args.repeats} interleaved repeats.",
        "",
        f"## KD epoch, digits 10x augment ({len(x_train) * 11} rows), batch 64, cached teacher targets",
        "",
        "| student | processes | s / epoch (rank 0's loop) | command wall s | test acc |",
        "| --- | --- | --- | --- | --- |",
    ]
    for (student, label), runs in epochs.items():
        lines.append(
            f"| {student} | {label} | {spread([r['epoch_s'] for r in runs])} | "
            f"{spread([r['wall_s'] for r in runs], 1)} | {spread([r['test_accuracy'] for r in runs], 4)} |"
        )
    lines += [
        "",
        f"## Teacher outputs ({args.teacher} teacher, torch eager) over a pool of {len(pool)} augmented digits "
        f"({size}x the training split), into a fresh cache entry; the dask figures include connecting to the "
        "scheduler and sending the teacher, as every `distill --backend dask` does",
        "",
        "| where | rows / s |",
        "| --- | --- |",
    ]
    lines += [f"| {where} | {spread(values, 0)} |" for where, values in rates.items()]
    emit("\n".join(lines) + "\n", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
