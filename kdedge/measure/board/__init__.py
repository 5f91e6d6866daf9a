"""Bench on a board over SSH (`kdedge bench RUN --on ssh://user@board`): the board runs the same core bench as this
machine (numpy + onnxruntime), on the same test samples; its figures come back, are shown titled with the device
and are kept in each run under devices/. Modules: ssh (the OpenSSH client and its errors), remote (one bench
there), devices (the per-device records in runs).
"""

from __future__ import annotations

from pathlib import Path

from .devices import device_record, store
from .remote import BoardSetup, bench_on_board
from .ssh import Board, Ssh

__all__ = ["Board", "BoardSetup", "Ssh", "bench_runs_on", "store"]


def bench_args(
    threads: list[int] | None = None,
    batches: list[int] | None = None,
    memory: bool = True,
    min_runs: int = 50,
    min_seconds: float = 1.0,
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


def bench_runs_on(
    url: str,
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
    accept_new_host: bool = False,
    ssh_config: Path | None = None,
    setup: BoardSetup | None = None,
) -> dict:
    """What `kdedge bench --json` gives for these runs and models, measured on the board at `url`, with
    `result["device"]` naming it. `settings`: `bench_args(...)`; `target`: a profile name or TOML file."""
    from ...runs import Run
    from ..runs import bench_entries

    ssh = Ssh(Board.parse(url), accept_new_host, ssh_config)
    dataset, entries, notes = bench_entries(runs, models, data, seed, teacher, int8, data_read)
    x, y = dataset.split("test")
    args, target_file = list(settings), None
    if target is not None and Path(target).is_file():
        target_file = Path(target)
    elif target is not None:
        args += ["--target", target]
    result = bench_on_board(ssh, entries, x, y, dataset.describe(), setup or BoardSetup(), args, target_file)
    result["device"] = device_record(ssh.board, result.get("machine", {}))
    for run in map(Run.load, runs):  # C students are timed by a harness compiled here, not sent
        if run.manifest.c_export:
            notes.append(
                f"{run.name} C: no row, `bench --on` sends the ONNX graphs only; for the C row, copy the run to the "
                "board and run kdedge bench there"
            )
    result["notes"] = notes + result.get("notes", [])
    return result
