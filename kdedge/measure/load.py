"""How busy the machine was while measuring: latencies taken under load are slower, and a JSON file should say so."""

from __future__ import annotations

import os


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS has none (Windows)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def usable_cpus() -> int:
    """The CPUs this process may run on (a container or `taskset` may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def load_record(before: float | None, after: float | None) -> dict:
    """Load before and after, the CPU counts, and `busy`: the load exceeded the cores at either end.

    A load average counts runnable processes, this one included, so a load above the core count means some timed
    call waited for a core.
    """
    cores = os.cpu_count() or 1
    seen = [v for v in (before, after) if v is not None]
    return {
        "loadavg_1m_before": before,
        "loadavg_1m_after": after,
        "cpu_count": cores,
        "usable_cpus": usable_cpus(),
        "busy": bool(seen) and max(seen) > cores,
    }


def busy_warning(result: dict) -> str | None:
    """One line for a bench result measured on a busy machine, else None."""
    load = result.get("load") or {}
    if not load.get("busy"):
        return None
    peak = max(v for v in (load.get("loadavg_1m_before"), load.get("loadavg_1m_after")) if v is not None)
    return (
        f"warning: the machine was busy while measuring (load average {peak:.1f} on {load['cpu_count']} cores); "
        "latencies are likely inflated, rerun on an idle machine to compare with other figures"
    )
