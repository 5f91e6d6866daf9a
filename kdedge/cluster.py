"""Work on a Dask cluster the user already runs: the client, and where a command's Dask work is sent.

`--backend dask --scheduler tcp://HOST:PORT` on `kdedge sweep`, `kdedge search` and `kdedge distill` (the teacher's
outputs over a transfer set or pool) all connect here. What a worker needs must sit at the same path on every
worker (one machine, or a shared filesystem): run folders, teacher files, the search folder. Dask moves task
arguments between the user's own processes with pickle; teachers pickle as their state and reopen their files
there (kdedge.teachers).
"""

from __future__ import annotations

import os

from .errors import OptionError

BACKENDS = ("local", "dask")
SCHEDULER_ENV = "KDEDGE_DASK_SCHEDULER"  # set by `distill --backend dask`: where teacher outputs are computed


def check_backend(backend: str, scheduler: str | None) -> None:
    if backend not in BACKENDS:
        raise OptionError(f"unknown --backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if backend == "dask" and not scheduler:
        raise OptionError("--backend dask needs --scheduler tcp://HOST:PORT (a running dask scheduler)")
    if backend == "local" and scheduler:
        raise OptionError("--scheduler applies to --backend dask; add --backend dask or drop --scheduler")


def dask_client(scheduler: str | None):
    """A client of the running scheduler at `scheduler` (one line when it cannot be reached)."""
    from .errors import require

    check_backend("dask", scheduler)
    require("distributed")
    from distributed import Client

    try:
        return Client(scheduler, timeout=30)
    except OSError as exc:
        raise OptionError(
            f"cannot reach the dask scheduler at {scheduler} ({exc}); start it or fix --scheduler"
        ) from None


def set_targets_backend(backend: str = "local", scheduler: str | None = None) -> None:
    """Compute teacher outputs for the transfer set on `scheduler`'s workers from here on in this process (and the
    processes it starts: a DDP run's rank 0 computes them); "local" computes them here."""
    check_backend(backend, scheduler)
    if backend == "dask":
        os.environ[SCHEDULER_ENV] = scheduler
    else:
        os.environ.pop(SCHEDULER_ENV, None)


def targets_scheduler() -> str | None:
    return os.environ.get(SCHEDULER_ENV) or None


def worker_count(client) -> int:
    return max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
