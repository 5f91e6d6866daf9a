"""Bench on a board over SSH (`kdedge bench RUN --on ssh://user@board`): the board runs the same core bench as this
machine (numpy + onnxruntime), on the same test samples; its figures come back, are shown titled with the device
and are kept in each run under devices/. Modules: ssh (the OpenSSH client and its errors), remote (one bench
there), devices (the per-device records in runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..timing import MIN_RUNS, MIN_SECONDS
from .devices import device_record, store
from .remote import BoardSetup, bench_on_board
from .ssh import Board, Ssh

__all__ = ["Board", "BoardSetup", "Connection", "Ssh", "bench_models_on", "bench_runs_on", "check_board", "store"]


def bench_args(
    threads: list[int] | None = None,
    batches: list[int] | None = None,
    memory: bool = True,
    min_runs: int = MIN_RUNS,
    min_seconds: float = MIN_SECONDS,
) -> list[str]:
    """The board's `kdedge bench` options for these settings (its defaults where unset)."""
    args = ["--min-runs", str(min_runs), "--min-seconds", repr(float(min_seconds))]
    if threads:
        args += ["--threads", ",".join(map(str, threads))]
    if batches:
        args += ["--batch", ",".join(map(str, batches))]
    if not memory:
        args.append("--no-memory")
    return args


@dataclass(frozen=True)
class Connection:
    """How to reach a board and run kdedge there (JSON-safe: a search keeps it in search.json to resume)."""

    url: str
    accept_new_host: bool = False
    ssh_config: str | None = None
    kdedge: str = "kdedge"
    tmp: str | None = None

    @classmethod
    def of(cls, on) -> Connection:
        return on if isinstance(on, Connection) else cls(**on) if isinstance(on, dict) else cls(str(on))

    def open(self) -> Ssh:
        return Ssh(Board.parse(self.url), self.accept_new_host, Path(self.ssh_config) if self.ssh_config else None)

    @property
    def setup(self) -> BoardSetup:
        return BoardSetup(self.kdedge, self.tmp)


def bench_models_on(
    on, entries, x, y, description: dict, settings: list[str] = (), target_file: Path | None = None, runs=()
) -> dict:
    """`bench_on_board` through a Connection (or its URL), with `result["device"]` naming the board."""
    connection = Connection.of(on)
    ssh = connection.open()
    result = bench_on_board(ssh, entries, x, y, description, connection.setup, list(settings), target_file, runs)
    result["device"] = device_record(ssh.board, result.get("machine", {}))
    return result


def check_board(on) -> None:
    """Fail now, with the one-line BoardError, if the board cannot be reached or lacks this kdedge."""
    from .remote import check

    connection = Connection.of(on)
    check(connection.open(), connection.setup)


def bench_runs_on(
    on,
    runs=(),
    models=(),
    *,
    data=None,
    seed=None,
    teacher=None,
    int8: bool = True,
    data_read=(None, {}),
    target: str | None = None,
    settings: list[str] = (),
) -> dict:
    """What `kdedge bench --json` gives for these runs and models, measured on the board `on` (a Connection or
    an ssh:// URL), with `result["device"]` naming it. `settings`: `bench_args(...)`; `target`: a profile name or
    TOML file."""
    from ...runs import Run
    from ..runs import bench_entries

    Connection.of(on).open()  # a bad address or a missing ssh fails before the data is read
    dataset, entries, notes = bench_entries(runs, models, data, seed, teacher, int8, data_read)
    shipped = [Path(r) for r in runs]  # run folders go whole (what a bench reads), so C rows are timed there too
    teacher_dir = teacher is not None and Path(teacher).suffix != ".onnx"
    if teacher_dir and Path(teacher).resolve() not in {r.resolve() for r in shipped}:
        shipped.append(Path(teacher))
    named = [(Run.load(r).name, r) for r in shipped]
    run_rows = {name for name, _ in named} | {f"{name} int8" for name, _ in named}
    bare = [e for e in entries if e.name not in run_rows]
    x, y = dataset.split("test")
    args, target_file = list(settings) + ([] if int8 else ["--no-int8"]), None
    if teacher is not None:
        teacher_run = next((f"r{i}" for i, (_, r) in enumerate(named) if r.resolve() == Path(teacher).resolve()), None)
        if teacher_run is not None:
            args += ["--teacher", teacher_run]
    if target is not None and Path(target).is_file():
        target_file = Path(target)
    elif target is not None:
        args += ["--target", target]
    result = bench_models_on(on, bare, x, y, dataset.describe(), args, target_file, named)
    result["notes"] = notes + result.get("notes", [])
    return result
