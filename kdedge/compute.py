"""How many CPU threads training and teacher inference use, decided in one place.

The default is the CPUs this process may run on (`os.sched_getaffinity`), divided among the jobs of a sweep or
search — a property of the machine, so the same seed on the same machine gives the same numbers whatever else is
running. What made the default slow on a busy machine was not the thread count but OpenMP's waiting policy: torch's
threads spin while they wait for each other, and a spinning thread on a core another process needs stalls every
parallel region (a CNN teacher: 33–59 s with two spinning threads against 3–8 s with one). With passive waiting
the same two threads take about as long as one; `prefer_passive_waiting` sets it before torch is imported.
"""

from __future__ import annotations

import os
import sys

from .errors import OptionError

THREADS_ENV = "KDEDGE_THREADS"  # a parent (sweep, search) gives each job its share; users may set it too
DEVICE_ENV = "KDEDGE_DEVICE"
DEVICE_KINDS = ("auto", "cpu", "cuda", "mps")


def prefer_passive_waiting() -> None:
    """Ask OpenMP (read once, when torch loads it) to sleep rather than spin while waiting; a user's own
    OMP_WAIT_POLICY wins."""
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def available_cpus() -> int:
    """CPUs this process may run on (a container's or taskset's limit, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def share(jobs: int) -> int:
    """Threads for each of `jobs` jobs running at once, so that together they use the CPUs once."""
    return max(1, available_cpus() // max(1, jobs))


def check_threads(threads: int | None, flag: str = "--threads") -> int | None:
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise OptionError(f"{flag} {threads!r}: give a whole number of threads, 1 or more")
    return threads


def set_training_threads(threads: int | None) -> None:
    """Use `threads` for the rest of this process (and the jobs it starts); None keeps the default."""
    if check_threads(threads) is not None:
        os.environ[THREADS_ENV] = str(threads)


def training_threads() -> int:
    """The thread count this process trains and runs teachers with: --threads (or a parent's share), else the
    user's OMP_NUM_THREADS, else every CPU this process may use."""
    for name in (THREADS_ENV, "OMP_NUM_THREADS"):
        raw = os.environ.get(name)
        if raw:
            try:
                return check_threads(int(raw), name)
            except ValueError:
                raise OptionError(f"{name}={raw!r}: give a whole number of threads, 1 or more") from None
    return share(1)


def apply_training_threads() -> dict:
    """Set torch's intra-op threads (when torch is in use) and return what a run records about it."""
    threads = training_threads()
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)
    else:  # torch reads it when a neural student or teacher first imports it
        os.environ["OMP_NUM_THREADS"] = str(threads)
    return {"threads": threads, "cpus": available_cpus(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "")}


def seconds_since_start() -> float | None:
    """How long this process has run: recorded when a fit starts its work, so start-up cost is visible per run."""
    try:
        import time

        import psutil

        return round(time.time() - psutil.Process().create_time(), 3)
    except (ImportError, OSError):
        return None


def set_device(device: str | None) -> None:
    """Train neural models on `device` (auto, cpu, cuda, cuda:N, mps) from here on in this process."""
    if device is None:
        return
    kind = device.split(":")[0]
    if kind not in DEVICE_KINDS or (":" in device and (kind != "cuda" or not device.split(":")[1].isdigit())):
        raise OptionError(f"--device {device!r}: choose auto, cpu, cuda, cuda:N or mps")
    before = os.environ.get(DEVICE_ENV)
    os.environ[DEVICE_ENV] = device
    try:
        training_device()  # a device this machine lacks is refused now, and not kept for the next call
    except OptionError:
        if before is None:
            os.environ.pop(DEVICE_ENV, None)
        else:
            os.environ[DEVICE_ENV] = before
        raise


def training_device() -> str:
    """The device neural training runs on, checked against what this machine has (torch must be loaded)."""
    import torch

    wanted = os.environ.get(DEVICE_ENV) or "auto"
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if wanted == "auto":
        wanted = "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    kind = wanted.split(":")[0]
    if wanted == "cuda" and os.environ.get("LOCAL_RANK") and os.environ.get("KDEDGE_DDP"):  # distributed.DDP_ENV
        wanted = f"cuda:{os.environ['LOCAL_RANK']}"  # a DDP worker: one GPU per process of this machine
    if kind == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(wanted.split(":")[1]) if ":" in wanted else 0
        if index >= count:
            raise OptionError(
                f"--device {wanted}: this machine has {count} CUDA device(s) visible to torch "
                f"{torch.__version__}; use --device cpu (or auto, which picks a GPU only when one exists)"
            )
        _deterministic_cuda()
    if kind == "mps" and not has_mps:
        raise OptionError("--device mps: Apple's MPS backend is not available here; use --device cpu or auto")
    return wanted


def _deterministic_cuda() -> None:
    """The same seed gives the same numbers on one GPU too, where torch offers deterministic kernels."""
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)
