"""Progress bars on stderr (rich), so stdout stays clean for tables and --json.

Off a terminal (a log file, a pipe, a worker process) the same steps become plain timestamped lines, so a long job
speaks in its log: one line per step when steps are slower than KDEDGE_LOG_EVERY seconds (default 5; an epoch of a
real teacher is tens of seconds), else one every that many seconds, and the last state at the end. Nothing at all
when KDEDGE_QUIET is set (`--quiet` sets it). Bars opened while another is shown
are drawn in the same display, under it (rich allows one live display at a time), and vanish when done; an outermost
bar stays if `transient=False`: the outer count (models, combinations, trials) stays, the inner ones (epochs,
batches, a trial's bench) go.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

_active = None  # the rich Progress on screen, if any


_held: list[str] = []  # lines said once a command's work is accepted (see `hold`)


def hold(line: str) -> None:
    """Say `line` on stderr once the work is accepted (a training starts, or the command succeeds); dropped when the
    command ends in an error first, so that error stays its only line."""
    _held.append(line)


def release_held() -> None:
    while _held:
        print(_held.pop(0), file=sys.stderr, flush=True)


def drop_held() -> None:
    _held.clear()


def silent() -> bool:
    """No bars: asked for quiet, stderr not a terminal, or a worker process sharing its parent's terminal."""
    return bool(os.environ.get("KDEDGE_QUIET") or os.environ.get("KDEDGE_NO_BARS")) or not _stderr_is_terminal()


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@contextlib.contextmanager
def quiet(on: bool = True):
    """No progress inside the block (and in processes it starts) when `on`; restored after."""
    if not on:
        yield
        return
    with env_flag("KDEDGE_QUIET"):
        yield


@contextlib.contextmanager
def no_bars_in_children():
    """Processes started inside the block draw no bars (several on one terminal would overwrite each other); they
    print their lines instead."""
    with env_flag("KDEDGE_NO_BARS"):
        yield


@contextlib.contextmanager
def env_flag(name: str):
    """Set environment variable `name` to "1" inside the block (children inherit it), then restore it."""
    before = os.environ.get(name)
    os.environ[name] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def _stepper(progress, task):
    def advance(status: str = "", completed: int | None = None) -> None:
        if completed is None:
            progress.update(task, advance=1, status=status)
        else:  # counted elsewhere (workers of a parallel search): set, not add
            progress.update(task, completed=completed, status=status)

    return advance


def _quiet() -> bool:
    return bool(os.environ.get("KDEDGE_QUIET"))


def _log_every() -> float:
    try:
        return max(0.0, float(os.environ.get("KDEDGE_LOG_EVERY", "5")))
    except ValueError:
        return 5.0


@contextlib.contextmanager
def _log_lines(label: str, total: int):
    """`advance` for a log: '09:41:07 teacher · hard 3/60 val accuracy 0.9012 ...' on stderr, throttled."""
    every, state = _log_every(), {"done": 0, "status": "", "printed_at": None, "printed_done": 0, "first": None}
    started = time.monotonic()

    def emit() -> None:
        line = f"{time.strftime('%H:%M:%S')} {label} {state['done']}/{total} {state['status']}".rstrip()
        elapsed = time.monotonic() - started
        # the pace of the steps done in this process (a resumed training starts past 0)
        eta = eta_text(state["done"] - state["first"] + 1, total - state["first"] + 1, elapsed)
        timing = f"{_duration(elapsed)} elapsed" + (f", {eta}" if eta else "")
        print(f"{line} · {timing}", file=sys.stderr, flush=True)
        state["printed_at"], state["printed_done"] = time.monotonic(), state["done"]

    def advance(status: str = "", completed: int | None = None) -> None:
        state["done"] = state["done"] + 1 if completed is None else completed
        if state["first"] is None:
            state["first"] = state["done"]
        state["status"] = status
        last = state["printed_at"]
        if last is None or time.monotonic() - last >= every:
            emit()

    try:
        yield advance
    finally:
        if state["done"] != state["printed_done"]:
            emit()  # the last state, whatever the throttle skipped


@contextlib.contextmanager
def progress_bar(label: str, total: int, transient: bool = True):
    """Yield `advance(status="", completed=None)`: one more step (or `completed` steps in all), `status` beside.
    A rich bar on a terminal, plain lines in a log, nothing with KDEDGE_QUIET."""
    global _active
    if _quiet():
        yield lambda status="", completed=None: None
        return
    if silent():
        with _log_lines(label, total) as advance:
            yield advance
        return
    if _active is not None:  # nested: one more task in the display already on screen
        progress = _active
        task = progress.add_task(label, total=total, status="")
        try:
            yield _stepper(progress, task)
        finally:
            progress.remove_task(task)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    progress = Progress(*columns, console=Console(stderr=True), transient=transient)
    with progress:
        task = progress.add_task(label, total=total, status="")
        _active = progress
        try:
            yield _stepper(progress, task)
        finally:
            _active = None


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


def eta_text(done: int, total: int, elapsed: float) -> str:
    """'ETA 1m05s' from the mean time per finished step; '' before the first one."""
    if done <= 0 or done >= total:
        return ""
    left = elapsed / done * (total - done)
    minutes, seconds = divmod(int(round(left)), 60)
    return f"ETA {minutes}m{seconds:02d}s" if minutes else f"ETA {seconds}s"
