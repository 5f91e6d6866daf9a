"""The public Python API: what the CLI, recipes and search call, for notebooks and scripts.

    >>> import kdedge
    >>> data = kdedge.load_data("digits")
    >>> teacher = kdedge.train_teacher(data, out="runs/teacher", epochs=20)          # doctest: +SKIP
    >>> student = kdedge.distill(teacher, out="runs/mlp", student="mlp", hidden=64)  # doctest: +SKIP
    >>> kdedge.convert(student); kdedge.convert(teacher)                               # doctest: +SKIP
    >>> print(kdedge.measure([student, teacher]))                                      # doctest: +SKIP

Options are flat keywords routed by `kdedge.options.route` to the student's params, the method and the transfer set
(exactly as the CLI's `--hidden 64 --temperature 2` are). Every function returns a typed object: a `Run` (its
`metrics`, `manifest`, `path`) or a `BenchResult` (prints as the bench table; `records()` for a DataFrame).
Errors are `kdedge.KdedgeError` subclasses whose message names the problem and the fix.

Imports are lazy: `import kdedge` needs only numpy, onnxruntime and pydantic (the core install).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .measure.timing import MIN_RUNS, MIN_SECONDS
from .outputs import writes_out
from .runs import Run

__all__ = [
    "BenchResult",
    "Run",
    "bench",
    "distill",
    "export",
    "load_data",
    "load_teacher",
    "recommend",
    "search",
    "train_teacher",
]


def load_data(source="digits", *, seed: int = 0, format: str | None = None, **reader_options):
    """A built-in data set (`digits`, `digits-shift`) or a file/folder, split once into train/val/test by `seed`.

    >>> kdedge.load_data("digits").describe()["sizes"]
    {'train': 1069, 'val': 189, 'test': 539}
    """
    from .data import load_dataset

    return load_dataset(str(source), seed=seed, fmt=format, **reader_options)


@writes_out
def train_teacher(
    data="digits",
    *,
    out,
    arch: str | None = None,
    seed: int = 0,
    overwrite: bool = False,
    threads: int | None = None,
    device: str | None = None,
    augment: str | None = None,
    say=None,
    **options,
) -> Run:
    """Train a built-in teacher (`cnn`, `resnet` or `mlp`, with its options: channels, depth, width, epochs...)
    on the labels of `data` (a name, a path or a Dataset), selected on val, and write it as a run directory.
    What is left out comes from the data (`kdedge.defaults.TEACHER_RECIPES`): the layout picks the net (a CNN for
    images and sequences, an MLP for vectors) and the size the schedule — tens of thousands of images get a wider
    CNN, AdamW with a cosine schedule, label smoothing and random shifts (`augment="shift"`; "none" to train on the
    split as it is). The choice is recorded in the run (`defaults`) and, with `say` (a callable), said in one line.
    `threads`: CPU threads for training, `device`: auto (default), cpu, cuda[:N] or mps — both from here on in this
    process."""
    from .compute import set_device, set_training_threads
    from .errors import require
    from .jobs import dataset_and_source, execute, teacher_job
    from .outputs import check_out_dir

    check_out_dir(out, overwrite)  # before the data is read
    set_training_threads(threads)
    set_device(device)
    dataset, source = dataset_and_source(data, seed)
    job, plan = teacher_job(
        dataset, source, out=out, arch=arch, augment=augment, options=options, seed=seed, overwrite=overwrite
    )
    if say is not None and plan.line():
        require("torch")  # a missing extra is the one line, not after the plan's
        say(plan.line())
    return execute(job)


def load_teacher(teacher, *, data=None, factory: str | None = None, via=(), seed: int = 0, method=None):
    """A teacher, checked against its data: a run directory (or `Run`), a TorchScript `.pt`, an `.onnx`, weights
    with `factory`, or a list of those (their averaged logits teach). `via` runs distill through assistants.

    Returns `kdedge.jobs.Bound` (unpacks as teacher, dataset, data_source): the data is `data`, else the first
    teacher's own data and split. Every surface resolves teachers through `kdedge.jobs.resolve`, which this is.
    """
    from .jobs import resolve

    return resolve(teacher, data=data, factory=factory, via=via, seed=seed, method=method)


def distill(
    teacher=None,
    data=None,
    *,
    out,
    student: str = "mlp",
    method: str | None = None,
    transfer: str | None = None,
    seed: int = 0,
    overwrite: bool = False,
    factory: str | None = None,
    via=(),
    generations: int | None = None,
    data_format: str | None = None,
    reader_options: dict | None = None,
    progress=None,
    threads: int | None = None,
    device: str | None = None,
    baseline: bool | None = None,
    say=None,
    nproc: int = 1,
    nnodes: int = 1,
    rdzv_endpoint: str | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    **options,
):
    """Train `student` from `teacher` with `method` on a `transfer` set and write the run directory `out`.

    With `method` and `transfer` left out, the teaching is the default measured best for the data's layout and the
    student's family (`kdedge.defaults.STUDENT_RECIPES`), said through `say` (a callable) and recorded in the run
    (`defaults`). `baseline=True` also trains the same student on labels alone into OUT/baseline and records the
    gain on val (`manifest.baseline`); None: as the default recipe says (on for families where teaching has lost).

    `options` are the family's (hidden=128, epochs=200...), the method's (temperature=4, alpha=0.9) and the
    transfer set's (transfer_size="5x", teacher_mode="online", max_shift=3...). `method="hard"` needs no teacher
    (pass `data`). `generations=N` trains N born-again students of the teacher's architecture (returns their runs
    and the ensemble's). `threads`: CPU threads for the teacher's outputs and training (default: every CPU this
    process may use; with `nproc`, that divided among the processes); `device`: where neural training runs (auto,
    cpu, cuda[:N], mps) — both from here on in this process. `nproc=N` trains a neural student in N processes with
    torch DDP (`nnodes`, `rdzv_endpoint` for several machines, the same call on each); see `kdedge.distributed`.
    `backend="dask"` with `scheduler="tcp://HOST:PORT"` computes the teacher's outputs over the transfer set on
    that cluster's workers, into the same cache entry (see `kdedge.cluster`).
    Returns the `Run` (None on a machine whose processes did not include rank 0, which writes the run).
    """
    from .cluster import set_targets_backend
    from .distributed import Launch

    launch = Launch(nproc, nnodes, rdzv_endpoint)
    set_targets_backend(backend, scheduler)
    given = dict(
        student=student,
        method=method,
        transfer=transfer,
        baseline=baseline,
        say=say,
        seed=seed,
        overwrite=overwrite,
        factory=factory,
        via=via,
        generations=generations,
        data_format=data_format,
        reader_options=reader_options,
        device=device,
        **options,
    )
    if not launch.distributed:
        return _distill(teacher, data, out=out, progress=progress, threads=threads, **given)
    return _distill_on_processes(launch, teacher, data, out, threads, given)


def _distill_on_processes(launch, teacher, data, out, threads, given: dict):
    """Check what can be checked here, then train in the launched processes; rank 0 takes the folder's lock."""
    from .compute import check_threads, set_device
    from .distributed import launch as start
    from .errors import OptionError
    from .outputs import check_out_dir
    from .students import student_class

    check_threads(threads)
    set_device(given["device"])  # checked here; the workers inherit it
    if given.pop("baseline"):
        raise OptionError("--baseline trains in one process; drop --nproc/--nnodes, or train the baseline apart")
    given = {**given, "baseline": False, "say": None}  # the workers get plain settings
    routed = _route(given["student"], given["method"] or "kd", given["transfer"] or "train", _options(given))
    if given["generations"] is not None or not student_class(given["student"]).neural or routed.method.needs_features:
        raise OptionError(
            f"--nproc/--nnodes train one neural student (mlp, cnn, resnet) with kd, logits or hard; not --student "
            f"{given['student']} --method {given['method']}"
            + (" with --generations" if given["generations"] is not None else "")
            + ": use --nproc 1"
        )
    check_out_dir(out, given["overwrite"])
    path = start(
        launch, "kdedge.api:_distill_in_process", {"teacher": teacher, "data": data, "out": out, **given}, threads
    )
    return None if path is None else Run.load(path)


def _options(given: dict) -> dict:
    named = ("student", "method", "transfer", "seed", "overwrite", "factory", "via", "generations", "data_format")
    return {k: v for k, v in given.items() if k not in (*named, "reader_options", "device", "baseline", "say")}


def _distill_in_process(teacher, data, *, out, **given):
    """One DDP process's part of `distill`: rank 0 holds the folder's lock and writes the run; it returns its path."""
    from .distributed import is_writer

    if is_writer():
        return str(_distill(teacher, data, out=out, **given).path)
    _distill.__wrapped__(teacher, data, out=out, **given)
    return None


@writes_out  # a second command on the same `out` fails at once, not after loading and training
def _distill(
    teacher=None,
    data=None,
    *,
    out,
    student: str = "mlp",
    method: str | None = None,
    transfer: str | None = None,
    seed: int = 0,
    overwrite: bool = False,
    factory: str | None = None,
    via=(),
    generations: int | None = None,
    data_format: str | None = None,
    reader_options: dict | None = None,
    progress=None,
    threads: int | None = None,
    device: str | None = None,
    baseline: bool | None = None,
    say=None,
    **options,
):
    from .compute import set_device, set_training_threads
    from .distributed import is_writer
    from .errors import OptionError
    from .jobs import Job, dataset_and_source, execute, resolve
    from .jobs.baseline import execute_with_baseline, is_pending
    from .jobs.student_plan import plan_student
    from .outputs import check_not_input, check_out_dir

    # born-again resumes inside an existing OUT (each generation checks), as does a --baseline whose twin is pending
    if generations is None and is_writer() and (overwrite or not is_pending(Path(out))):
        check_out_dir(out, overwrite)
    specs = teacher if isinstance(teacher, list | tuple) else [teacher]
    check_not_input(out, [getattr(t, "path", t) for t in specs if t is not None], "--teacher")
    check_not_input(out, via or (), "--via")
    set_training_threads(threads)
    set_device(device)
    if reader_options and data is None:
        raise OptionError("--format and reader options apply to --data; pass --data too")
    if generations is not None and teacher is None:
        raise OptionError("--generations needs --teacher RUN: each generation has the teacher's architecture")
    if generations is not None and baseline:
        raise OptionError("--baseline compares one student with its hard-label twin; drop it with --generations")
    chosen = None  # refuse bad options before loading anything, where the user chose the teaching
    if method is not None or transfer is not None:
        chosen = _route(student, method or "kd", transfer or "train", options).method
    if data is not None:
        data = dataset_and_source(data, seed, data_format, reader_options)[0]
    teacher_obj, dataset, source = resolve(teacher, data=data, factory=factory, via=via, seed=seed, method=chosen)
    if generations is not None:
        student = (getattr(teacher_obj, "run", None) and teacher_obj.run.family) or student
    has_teacher, n_train = teacher_obj is not None, len(dataset.train_idx)
    plan = plan_student(student, dataset.layout, method, transfer, options, has_teacher, baseline, n_train)
    if say is not None and plan.line() and generations is None:
        say(plan.line())
    job = Job.of(
        out=out, family=student, method=plan.method, transfer=plan.transfer, options=plan.options, dataset=dataset,
        data_source=source, seed=seed, teacher=teacher_obj, overwrite=overwrite, defaults=plan.record,
    )  # fmt: skip
    if plan.method != "hard" and teacher_obj is None and job.method.needs_teacher:
        raise OptionError(f"--method {plan.method} needs a teacher; pass --teacher RUN (or use --method hard)")
    if generations is not None:  # every generation learns from the same transfer set
        from .jobs.born_again import born_again

        return born_again(job, generations, progress)
    return execute_with_baseline(job, say, plan.select) if plan.baseline else execute(job)


def _route(family, method, transfer, options):
    from .options import route

    return route(family, method, transfer, options)


def export(
    run,
    *,
    target="cpu-fp32",
    opset: int | None = None,
    calibration_size: int | None = None,
    keep_slower_int8: bool = False,
) -> Run:
    """Write RUN/model.onnx (parity-checked against the native model on the test split; an int8 target also
    writes model.int8.onnx when it keeps accuracy and runs faster than fp32 at batch 1 here, or with
    `keep_slower_int8`). Returns the run, its manifest's `export` record filled (`int8_skipped` says why not).
    target="c" (or "mcu-cortex-m4"): RUN/c/, C99 checked against RUN/model.onnx; the record is `c_export`.
    target="c-int8" (or "mcu-cortex-m4-int8", "mcu-cortex-m0plus-int8"): RUN/c-int8/, integer-only C for MLPs and CNNs,
    equal to its own arithmetic and within the profile's accuracy budget of model.onnx; the record is
    `c_int8_export`."""
    from .convert import export_run

    path = run.path if isinstance(run, Run) else Path(run)
    export_run(path, opset=opset, target=target, calibration_size=calibration_size, keep_slower_int8=keep_slower_int8)
    return Run.load(path)


@dataclass
class BenchResult:
    """What `kdedge bench` measures: `rows` (one dict per model, the floor last), `data`, `machine`, `load`; `raw` is
    what `--json` prints. `print(result)` shows the bench table (key columns; `result.table("all")` for every one);
    `records()` is one flat dict per row, with memory and the p50 ratio to the teacher net of the runtime floor."""

    raw: dict

    @property
    def rows(self) -> list[dict]:
        return self.raw["rows"]

    @property
    def busy(self) -> bool:
        """The load average exceeded the cores while measuring: latencies are likely inflated."""
        return bool((self.raw.get("load") or {}).get("busy"))

    def records(self) -> list[dict]:
        flat = []
        for row in self.rows:
            latency, memory = row.get("latency") or {}, row.get("memory") or {}
            ratios = row.get("vs_teacher") or {}
            flat.append(
                {
                    "name": row["name"],
                    "kind": row["kind"],
                    "family": row.get("family"),
                    "precision": row.get("precision"),
                    "accuracy": row.get("accuracy"),
                    "agreement": row.get("agreement"),
                    "kl_teacher": row.get("kl_teacher"),
                    "p50_us": latency.get("p50_us"),
                    "p90_us": latency.get("p90_us"),
                    "p99_us": latency.get("p99_us"),
                    "first_run_us": latency.get("first_run_us"),
                    "session_init_ms": latency.get("session_init_ms"),
                    "memory_mb": memory.get("model_mb"),
                    "memory_above_floor_mb": memory.get("above_floor_mb"),
                    "size_kb": row.get("size_kb"),
                    "n_params": row.get("n_params"),
                    "p50_vs_teacher": ratios.get("p50"),
                    "p50_above_floor_vs_teacher": ratios.get("p50_above_floor"),
                }
            )
        return flat

    def table(self, columns: str | None = None) -> str:
        """The bench table as text: the key columns, `"all"`, or a comma list of column ids."""
        import io

        from rich.console import Console

        from .table import DEFAULT_WIDTH, FULL_WIDTH, bench_table, pick_columns

        picked = pick_columns(columns)
        text = io.StringIO()
        width = DEFAULT_WIDTH if columns is None else FULL_WIDTH
        bench_table(self.raw, Console(width=width, file=text), columns=picked)
        return text.getvalue()

    def __str__(self) -> str:
        return self.table()


def bench(
    runs=(),
    *,
    models=(),
    data=None,
    teacher=None,
    target=None,
    threads: list[int] | None = None,
    batches: list[int] | None = None,
    memory: bool = True,
    min_runs: int = MIN_RUNS,
    min_seconds: float = MIN_SECONDS,
    on=None,
) -> BenchResult:
    """Accuracy, agreement and KL with the teacher, latency, memory and size of exported runs (and bare ONNX
    `models`) on the test split, the runtime floor beside them. One thread and batch 1 unless `threads`/`batches`
    or an export `target` (its sweep) say otherwise, as `kdedge bench`.

    `on`: measure on a board over SSH instead ("ssh://user@host[:port]", or a kdedge.measure.board.Connection for
    --accept-new-host and the like), as `kdedge bench --on`; its figures are also kept in each run's devices/."""
    from .convert.profiles import load_profile
    from .measure.runs import bench_runs

    runs = [r.path if isinstance(r, Run) else Path(r) for r in ([runs] if isinstance(runs, Run | str | Path) else runs)]
    teacher = teacher.path if isinstance(teacher, Run) else teacher
    if on is not None:
        from .measure.board import bench_args, bench_runs_on, store

        settings = bench_args(threads, batches, memory, min_runs, min_seconds)
        result = bench_runs_on(
            on, runs, [Path(m) for m in models], data=data, teacher=teacher, target=target, settings=settings
        )
        store(result, runs, [Run.load(r).name for r in runs])
        return BenchResult(result)
    profile = load_profile(target) if target is not None else None
    result = bench_runs(
        runs,
        [Path(m) for m in models],
        data=data,
        teacher=teacher,
        profile=profile,
        threads=threads,
        batches=batches,
        memory=memory,
        latency_options={"min_runs": min_runs, "min_seconds": min_seconds},
    )
    return BenchResult(result)


def search(
    teacher,
    *,
    out,
    data=None,
    trials: int | None = None,
    time_budget=None,
    prune: bool = True,
    jobs: int | None = None,
    families: list[str] | None = None,
    space=None,
    target=None,
    sampler: str = "nsga2",
    objective: str = "accuracy",
    max_epochs: int = 100,
    min_seconds: float = MIN_SECONDS,
    seed: int = 0,
    overwrite: bool = False,
    backend: str = "local",
    scheduler: str | None = None,
    on=None,
    **budget,
) -> dict[str, Any]:
    """The most accurate (or most faithful, objective="agreement") student inside a budget: max_latency_us,
    max_size_kb, max_memory_mb, min_agreement, and with target="c" (C trials) max_flash_kb, max_ram_kb
    (kdedge.budget_search.budget.BUDGETS). Returns the summary `kdedge search` prints (best trial, test
    figures); OUT holds every trial, the Pareto tables and plot, and best/. `backend="dask"` runs the trials on the
    workers of `scheduler` (tcp://HOST:PORT), `jobs` of them at a time (default: one per worker).

    `on`: a board ("ssh://user@host[:port]" or a kdedge.measure.board.Connection) on which every trial's latency
    and memory (and the winner's test figures) are measured, so the budget is the board's; training stays here.

    `time_budget` ("30m", "2h" or seconds): no trial starts after it, and a neural trial training past it stops at
    its next epoch; without `trials` the search runs until then (else 30 trials). `prune`: neural trials outside the
    top third at 1/9 and 1/3 of `max_epochs` stop there (asynchronous successive halving)."""
    from dataclasses import asdict

    from .budget_search.pruning import parse_duration
    from .budget_search.study import DEFAULT_TRIALS, SearchConfig, start_search
    from .measure.board import Connection

    config = SearchConfig(
        teacher=str(teacher.path if isinstance(teacher, Run) else teacher),
        data=data,
        budget={k: v for k, v in budget.items() if v is not None},
        target=target,
        sampler=sampler,
        seed=seed,
        max_epochs=max_epochs,
        min_seconds=min_seconds,
        objective=objective,
        board=asdict(Connection.of(on)) if on is not None else None,
        prune=prune,
        time_budget_s=None if time_budget is None else parse_duration(time_budget),
    )
    if trials is None and time_budget is None:
        trials = DEFAULT_TRIALS
    return start_search(
        Path(out), config, trials, jobs, families, space, overwrite=overwrite, backend=backend, scheduler=scheduler
    )


def recommend(out) -> list[dict]:
    """What the search in `out` tried per family and its best student inside the budget (on val), each with the
    `kdedge distill` command line that trains it again; best family first (what `kdedge recommend` prints)."""
    from .budget_search.explain import explain

    return explain(Path(out))
