"""`kdedge bench`: numpy + onnxruntime only (plus the core's typer, rich and pydantic), so it runs on a board."""

from __future__ import annotations

from pathlib import Path

import typer

from ..measure.timing import MIN_RUNS, MIN_SECONDS
from ._bench_options import (
    BatchSizes,
    BenchCsv,
    BenchData,
    BenchJson,
    BenchModels,
    BenchOut,
    BenchRuns,
    BenchSeed,
    BenchTarget,
    BenchTeacher,
    Columns,
    Int8,
    Memory,
    MinRuns,
    MinSeconds,
    TestSet,
    Threads,
)
from ._board import AcceptNewHost, BoardKdedge, BoardTmp, On, SshConfig
from ._common import OverwriteFile, Quiet, _print_json, app, fails_cleanly
from ._data import DataFormat, split_reader_options, with_reader_options


def _int_list(value: str | None, option: str) -> list[int] | None:
    from ..errors import OptionError

    if value is None:
        return None
    from ..params import number_list

    try:
        values = number_list(value, int)
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise OptionError(f"{option} {value!r}: give positive integers separated by commas, e.g. 1,8,64")
    return values


def _profile(target: str | None):
    from ..convert.profiles import load_profile

    return None if target is None else load_profile(target)


def bench(
    runs: BenchRuns = None,
    model: BenchModels = None,
    data: BenchData = None,
    data_format: DataFormat = None,
    test_set: TestSet = None,
    seed: BenchSeed = None,
    teacher: BenchTeacher = None,
    threads: Threads = None,
    batch: BatchSizes = None,
    target: BenchTarget = None,
    int8: Int8 = True,
    memory: Memory = True,
    min_runs: MinRuns = MIN_RUNS,
    min_seconds: MinSeconds = MIN_SECONDS,
    as_json: BenchJson = False,
    out: BenchOut = None,
    csv_path: BenchCsv = None,
    columns: Columns = None,
    on: On = None,
    accept_new_host: AcceptNewHost = False,
    ssh_config: SshConfig = None,
    board_kdedge: BoardKdedge = "kdedge",
    board_tmp: BoardTmp = None,
    quiet: Quiet = False,
    overwrite: OverwriteFile = False,
    **options,
):
    """Accuracy, agreement with the teacher, latency (swept over threads and batch sizes), memory, size and
    parameters, side by side. The first threads and batch values give the headline table."""
    from ..errors import OptionError
    from ..measure.latency import check_timing
    from ..measure.runs import bench_runs
    from ..outputs import check_out_file, claiming
    from ..table import pick_columns

    shown = pick_columns(columns)  # a bad --columns fails before minutes of measuring
    runs, model = runs or [], model or []
    if not runs and not model:
        raise OptionError("nothing to bench; pass run directories and/or --model FILE.onnx (with --data)")
    if on and (out or csv_path or test_set):
        raise OptionError(
            "--on keeps each board's figures in the runs (RUN/devices/) and prints them with --json; drop "
            "--out / --csv / --test-set"
        )
    with claiming(csv_path, out):  # one writer per output file, from the check to the write
        if csv_path:  # refused before anything is measured
            check_out_file(csv_path, overwrite, "bench-csv", "--csv")
        if out:
            check_out_file(out, overwrite, "bench-json", "--out")
        profile = _profile(target)
        # unset: the profile's sweep with --target, else one thread and batch 1 (decided once, in bench_runs)
        thread_counts, batches = _int_list(threads, "--threads"), _int_list(batch, "--batch")
        check_timing(min_runs=min_runs, min_seconds=min_seconds)

        from ..progress import quiet as silence

        if on:
            with silence(quiet):
                _bench_on_boards(
                    on, runs, model, as_json, shown, quiet,
                    dict(data=data, seed=seed, teacher=teacher, int8=int8,
                         data_read=(data_format, split_reader_options(options)[0]), target=target),
                    dict(threads=thread_counts, batches=batches, memory=memory, min_runs=min_runs,
                         min_seconds=min_seconds),
                    dict(accept_new_host=accept_new_host, ssh_config=str(ssh_config) if ssh_config else None,
                         kdedge=board_kdedge, tmp=board_tmp),
                )  # fmt: skip
            return
        with silence(quiet):
            result = bench_runs(
                runs, model, data=data, seed=seed, teacher=teacher, int8=int8,
                data_read=(data_format, split_reader_options(options)[0]), test_set=test_set, profile=profile,
                threads=thread_counts, batches=batches, memory=memory,
                latency_options={"min_runs": min_runs, "min_seconds": min_seconds},
            )  # fmt: skip
        _show(result, csv_path, out, as_json, shown)


app.command()(fails_cleanly(with_reader_options(bench)))


def _bench_on_boards(boards, runs, models, as_json, columns, quiet, selection, settings, connection) -> None:
    """Each board in turn: its table (titled with the device), its figures stored in the runs."""
    from ..measure.board import Board, Connection, bench_args, bench_runs_on, store
    from ..runs import Run

    for url in boards:  # a mistyped address fails before the first board's minutes of measuring
        Board.parse(url)
    results = []
    for url in boards:
        if not quiet:
            typer.echo(f"bench on {url}: copying the graphs and test inputs, running kdedge bench there", err=True)
        on = Connection(url, **connection)
        result = bench_runs_on(on, runs, models, settings=bench_args(**settings), **selection)
        written = store(result, runs, [Run.load(r).name for r in runs])
        results.append(result)
        if not as_json:
            from ..table import bench_table

            bench_table(result, columns=columns)
            for path in written:
                typer.echo(f"kept in {path}", err=True)
    if as_json:
        _print_json({"devices": results})


def _show(result: dict, csv_path: Path | None, out: Path | None, as_json: bool, columns: list[str]) -> None:
    """The table (or JSON on stdout with --json), and the CSV / JSON files asked for, each written atomically."""
    from .._io import atomic_path, write_json
    from ..measure.load import busy_warning

    if csv_path:
        from ..measure.table_csv import csv_text

        with atomic_path(csv_path) as tmp:
            tmp.write_text(csv_text(result))
    if out:
        write_json(out, result)
    if as_json:
        _print_json(result)
        warning = busy_warning(result)
        if warning:  # stdout is the JSON; the warning still reaches the person
            typer.echo(warning, err=True)
        return
    from ..table import bench_table

    bench_table(result, columns=columns)
