"""Training one neural student in several processes with torch's DistributedDataParallel, decided in one place.

`kdedge distill --nproc N` (and `--nnodes M --rdzv-endpoint HOST:PORT` on each of M machines) starts the workers
with torch's own launcher (`torch.distributed.launcher.elastic_launch`, what `torchrun` runs), gloo on the CPU and
nccl on GPUs. Every worker loads the data and the teacher, builds the same transfer set from the seed, and trains a
DDP copy of the student; rank 0 computes the teacher's cached outputs first (the others then read the cache entry)
and is the only one that writes the run. Each global batch of `batch_size` rows is split between the ranks
(`shard`): rank r takes rows r, r+N, ... of it, and its loss is weighted by its share of the rows, so the
all-reduced gradient is the one-process gradient and the training is the one-process training up to the order of
float sums, except that BatchNorm's batch statistics are each rank's own rows (an MLP has none; a CNN's differ).

Outside a worker every helper is a no-op (rank 0 of 1), and nothing here imports torch until a worker needs it.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from .errors import KdedgeError, OptionError, RunError

DDP_ENV = "KDEDGE_DDP"  # set in the launched workers (compute.training_device gives each its own GPU)


@dataclass(frozen=True)
class Launch:
    """How many processes train one student: `nproc` per machine on `nnodes` machines meeting at `rdzv_endpoint`."""

    nproc: int = 1
    nnodes: int = 1
    rdzv_endpoint: str | None = None

    def __post_init__(self):
        for flag, value in (("--nproc", self.nproc), ("--nnodes", self.nnodes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OptionError(f"{flag} {value!r}: give a whole number, 1 or more")
        if self.nnodes > 1 and not self.rdzv_endpoint:
            raise OptionError(
                f"--nnodes {self.nnodes} needs --rdzv-endpoint HOST:PORT, an address every machine reaches (run the "
                "same command on each machine)"
            )
        if self.rdzv_endpoint is not None:
            host, _, port = self.rdzv_endpoint.rpartition(":")
            if not host or not port.isdigit():
                raise OptionError(f"--rdzv-endpoint {self.rdzv_endpoint!r}: give HOST:PORT, e.g. 10.0.0.5:29400")

    @property
    def distributed(self) -> bool:
        return self.nproc * self.nnodes > 1


# -- inside a worker ------------------------------------------------------------------------------------------------


def _group():
    """torch.distributed when this process is a worker of an initialised group, else None."""
    if "torch" not in sys.modules:
        return None
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def rank() -> int:
    dist = _group()
    return dist.get_rank() if dist else 0


def world_size() -> int:
    dist = _group()
    return dist.get_world_size() if dist else 1


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0")) if _group() else 0


def is_writer() -> bool:
    """Whether this process writes files (the run, cache entries): rank 0, or the only process."""
    return rank() == 0


def barrier() -> None:
    dist = _group()
    if dist:
        dist.barrier()


@contextlib.contextmanager
def rank_zero_first():
    """Rank 0 runs the block, then the others do: for work whose result rank 0 leaves behind (a cache entry the
    others then read instead of computing it again)."""
    if not is_writer():
        barrier()
    try:
        yield
    finally:
        if is_writer():
            barrier()


def shard(idx):
    """This rank's rows of one global batch (every rank holds the same `idx`): rows rank, rank + N, ..."""
    n = world_size()
    return idx if n == 1 else idx[rank() :: n]


def wrap(module):
    """`module` wrapped in DistributedDataParallel inside a worker (gradients all-reduced); itself otherwise."""
    if not _group():
        return module
    import torch

    device = next(module.parameters()).device
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)


def describe() -> dict:
    """What a run records about its processes (rank 0 writes it)."""
    dist = _group()
    if not dist:
        return {"nproc": 1}
    return {
        "nproc": dist.get_world_size(),
        "nproc_per_node": int(os.environ.get("LOCAL_WORLD_SIZE", "1")),
        "nnodes": dist.get_world_size() // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1"))),
        "backend": str(dist.get_backend()),
    }


# -- the launcher ---------------------------------------------------------------------------------------------------


def launch(launch: Launch, target: str, kwargs: dict, threads: int | None):
    """Run `target(**kwargs)` (a module-level function named "package.module:function") in every worker process of
    `launch` on this machine, through torch's elastic launcher; returns what global rank 0 returned, or None when
    rank 0 ran on another machine. A worker's KdedgeError comes back as the same one line."""
    import torch.distributed as dist
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    from .compute import share

    if not dist.is_available():
        raise OptionError(f"--nproc needs torch.distributed, which this torch {sys.modules['torch'].__version__} lacks")
    errors = Path(tempfile.mkdtemp(prefix="kdedge-ddp-"))
    config = LaunchConfig(
        min_nodes=launch.nnodes,
        max_nodes=launch.nnodes,
        nproc_per_node=launch.nproc,
        run_id=f"kdedge-{uuid.uuid4().hex[:8]}" if launch.nnodes == 1 else "kdedge",
        rdzv_backend="c10d",
        # one machine: a free port on the loopback, as `torchrun --standalone`
        rdzv_endpoint=launch.rdzv_endpoint or "127.0.0.1:0",
        max_restarts=0,
        monitor_interval=0.2,
        start_method="spawn",
    )
    job = {
        "target": target,
        "kwargs": kwargs,
        # the processes of this machine share its CPUs instead of oversubscribing them
        "threads": threads if threads is not None else share(launch.nproc),
        "errors": str(errors),
    }
    try:
        with _launcher_logs_quiet():
            results = elastic_launch(config, _worker)(job)
    except ChildFailedError as exc:
        raise _worker_error(errors, exc) from None
    finally:
        import shutil

        shutil.rmtree(errors, ignore_errors=True)
    found = [r for r in results.values() if isinstance(r, dict) and r.get("rank") == 0]
    return found[0]["result"] if found else None


@contextlib.contextmanager
def _launcher_logs_quiet():
    """The launcher logs each failed worker's traceback and its own rendezvous steps; kdedge says what failed in
    one line instead (and a bug's traceback comes from the worker itself)."""
    import logging

    loggers = [logging.getLogger(name) for name in ("torch.distributed.elastic", "torch.multiprocessing")]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)


def _worker_error(errors: Path, exc: Exception) -> KdedgeError:
    for path in sorted(errors.glob("rank*.txt")):
        return RunError(path.read_text().strip())
    first = next(iter(exc.failures.values()), None) if hasattr(exc, "failures") else None
    why = f" (exit code {first.exitcode})" if first is not None else ""
    return RunError(f"a training process failed{why}; rerun with --nproc 1 to see the error")


def _worker(job: dict):
    """One worker: join the group (gloo on the CPU, nccl on GPUs), run the target, leave the group."""
    import importlib

    from .compute import prefer_passive_waiting, set_training_threads

    prefer_passive_waiting()
    set_training_threads(job["threads"])
    os.environ[DDP_ENV] = "1"
    global_rank = int(os.environ["RANK"])
    if global_rank:  # one bar and one set of messages: rank 0's
        os.environ["KDEDGE_NO_BARS"] = "1"
    try:
        import torch
        import torch.distributed as dist

        from .compute import training_device

        device = training_device()
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
        # The others wait at a barrier while rank 0 computes the teacher's outputs, which for a large pool takes
        # longer than torch's default 30 minutes; a process that dies is noticed by the launcher, not by this timeout.
        dist.init_process_group(backend, timeout=datetime.timedelta(hours=12))
        try:
            module, name = job["target"].split(":")
            result = getattr(importlib.import_module(module), name)(**job["kwargs"])
        finally:
            dist.destroy_process_group()
    except KdedgeError as exc:  # the launcher prints the one line (`_worker_error`)
        Path(job["errors"], f"rank{global_rank}.txt").write_text(str(exc))
        raise
    except Exception:  # a bug: its traceback, once, from the process it happened in
        import traceback

        traceback.print_exc()
        raise
    return {"rank": global_rank, "result": result if global_rank == 0 else None}
