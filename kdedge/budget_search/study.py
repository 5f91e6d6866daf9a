"""`kdedge search`: an Optuna study whose every trial is an ordinary distill -> export -> bench.

The study lives in SQLite inside the search directory, so a search resumes after Ctrl-C or a crash and several
worker processes share it. Selection uses the validation split only; the test split is touched once, for `best/`.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import shutil
import sys
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .._io import atomic_dir, read_json, read_run_file, write_json
from ..compute import set_training_threads, share
from ..errors import BoardError, KdedgeError, OptionError, RunError, file_system_refusal
from ..measure.timing import MIN_SECONDS
from ..options import route
from ..outputs import writing
from ..students import student_class
from .budget import Budget
from .measure import MEASURERS, check_target, profile_budgets, second_cost, target_format
from .pruning import EpochWatch, TrialStopped, parse_duration, time_left
from .space import Candidate, fit_to_data, load_space, suggest

CONFIG = "search.json"
STUDY_DB = "study.db"
STUDY_NAME = "kdedge-search"
SAMPLERS = ("nsga2", "tpe")
DEFAULT_TRIALS = 30  # without --trials or --time-budget
# What the study maximises besides the two costs: the figure a trial is judged by on the validation split.
OBJECTIVES = {"accuracy": "val_accuracy", "agreement": "agreement"}


class BudgetError(KdedgeError):
    """No trial fits the budget."""


@dataclass
class SearchConfig:
    teacher: str
    data: str | None = None
    budget: dict = field(default_factory=dict)
    target: str | None = None
    space: dict = field(default_factory=dict)
    sampler: str = "nsga2"
    seed: int = 0
    max_epochs: int = 100  # caps neural students' epochs so a trial stays short
    min_seconds: float = MIN_SECONDS  # latency timing per trial, as `kdedge bench --min-seconds`
    objective: str = "accuracy"  # or "agreement" with the teacher (fidelity, Stanton et al. 2021)
    skipped_families: dict = field(default_factory=dict)  # family -> why the target cannot take it
    board: dict | None = None  # kdedge.measure.board.Connection: trials measured on this board over SSH
    prune: bool = True  # stop bad neural trials at rungs of --max-epochs (pruning.py)
    time_budget_s: float | None = None  # --time-budget, in seconds
    deadline: float | None = None  # when this run of the search stops (time.time()); set at start and at --resume


def _storage(out: Path):
    import optuna

    return optuna.storages.RDBStorage(
        f"sqlite:///{(out / STUDY_DB).resolve()}", engine_kwargs={"connect_args": {"timeout": 300}}
    )


def _sampler(config: SearchConfig):
    import optuna

    # Budgets reach the samplers as trial constraints (trial.set_constraint), so infeasible trials rank last.
    if config.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=config.seed)
    return optuna.samplers.NSGAIISampler(seed=config.seed, population_size=8)


def _study(out: Path, config: SearchConfig, worker: int = 0, resumed_at: int = 0):
    """The shared study. Workers, and a resumed search (`resumed_at` trials done), draw from other seeds: the same
    seed would start again from the points already tried."""
    import optuna

    # ERROR: a failed trial is one line of ours (the reason, in pareto.md too), not Optuna's warning with a traceback
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sampler = _sampler(config)
    if worker or resumed_at:
        sampler = _sampler(SearchConfig(**{**asdict(config), "seed": config.seed + 1000 * worker + resumed_at}))
    return optuna.create_study(
        study_name=STUDY_NAME,
        storage=_storage(out),
        directions=["maximize", "minimize", "minimize"],  # val accuracy, p50 latency, size (flash for C)
        sampler=sampler,
        load_if_exists=True,
    )


class _Trials:
    """What every trial of one worker shares: the data, the teacher and its labels on the val split."""

    def __init__(self, out: Path, config: SearchConfig):
        from ..jobs import resolve

        self.out, self.config = out, config
        self.budget = Budget(**config.budget)
        self.measure = MEASURERS[target_format(config.target)]
        # the resolver `distill` uses: a run, an ONNX or TorchScript file, with the data it names or is given
        self.teacher, self.dataset, self.data_source = resolve(config.teacher, data=config.data, seed=config.seed)
        self.x_val, self.y_val = self.dataset.split("val")
        self.space = fit_to_data(config.space, self.dataset.sample_shape)
        self.teacher_val_labels = self.teacher.logits(self.x_val).argmax(1)
        self.board_error: BoardError | None = None

    def __call__(self, trial):
        import optuna

        try:
            return self._trial(trial)
        except TrialStopped as stopped:  # not a failure: the rung rule or the clock ended it
            trial.set_user_attr("reason", str(stopped))
            _say(f"trial {trial.number}: {stopped}")
            raise optuna.TrialPruned(str(stopped)) from None
        except KdedgeError as exc:  # the trial is recorded as failed; keep why, for the tables
            trial.set_user_attr("reason", str(exc))
            _say(f"trial {trial.number}: failed: {exc}")
            raise

    def _trial(self, trial):
        import optuna

        from ..distillation.checkpoint import resume_folder
        from ..distillation.loop import watching_epochs
        from ..jobs import Job, execute

        cand = suggest(trial, self.space)
        trial.set_user_attr("settings", cand.describe())
        earlier = _same_settings(trial)
        if earlier is not None:  # a small space, or a resumed sampler: measured already, so not trained again
            trial.set_user_attr("reason", f"same settings as trial {earlier}")
            raise optuna.TrialPruned()
        self._prune_by_estimate(trial, cand)
        run_dir = trial_dir(self.out, trial.number)
        options = dict(cand.options)
        if student_class(cand.family).neural:
            options.setdefault("epochs", self.config.max_epochs)
        job = Job.of(
            out=run_dir, family=cand.family, method=cand.method, transfer=cand.transfer, options=options,
            dataset=self.dataset, data_source=self.data_source, seed=self.config.seed, teacher=self.teacher,
            overwrite=True,
        )  # fmt: skip
        epochs = options.get("epochs", self.config.max_epochs)
        watch = EpochWatch(trial, epochs, self.config.deadline, self.config.prune)
        try:
            with watching_epochs(watch):
                run = execute(job)
        except TrialStopped:
            shutil.rmtree(resume_folder(run_dir), ignore_errors=True)  # a stopped trial is not resumed
            raise
        # exported and measured on the validation split as `kdedge export` and `kdedge bench` do, per format; with a
        # board, the graph's latency and memory are measured there
        on_board = None if self.config.board is None else (lambda entry: self._measure_on_board(trial, entry))
        figures = self.measure(
            run, self.config.target, self.x_val, self.y_val, self.teacher_val_labels, self.config.min_seconds,
            bench_row=on_board,
        )  # fmt: skip
        trial.set_user_attr("figures", figures)
        trial.set_user_attr("run", str(run.path))
        trial.set_user_attr("family", cand.family)
        for name, value in self.budget.violations(figures).items():
            trial.set_constraint(name, value)
        trial.set_user_attr("broken", self.budget.broken(figures))
        _report(trial.number, cand, figures, self.budget.broken(figures))
        if not math.isfinite(figures["p50_us"]):
            raise optuna.TrialPruned("latency could not be measured")
        return figures[OBJECTIVES[self.config.objective]], figures["p50_us"], second_cost(figures)

    def _measure_on_board(self, trial, entry) -> dict:
        from ..measure.board import bench_args, bench_models_on

        description = {**self.dataset.describe(), "split": "val"}
        settings = bench_args(memory=True, min_seconds=self.config.min_seconds)
        try:
            result = bench_models_on(self.config.board, [entry], self.x_val, self.y_val, description, settings)
        except BoardError as exc:  # the board went away: every further trial would fail the same way
            self.board_error = exc
            raise
        trial.set_user_attr("device", result["device"])
        return result["rows"][0]

    def _prune_by_estimate(self, trial, cand: Candidate) -> None:
        """Neural students' size is known before training: 4 bytes per parameter (an estimate, labelled so)."""
        import optuna

        limit = self.budget.limit("max_size_kb")
        if limit is None or not student_class(cand.family).neural:
            return
        params = route(cand.family, cand.method, cand.transfer, cand.options).params
        ds = self.dataset
        estimate_kb = (
            student_class(cand.family)(params, ds.sample_shape, ds.n_classes, ds.normalization).n_params * 4 / 1024
        )
        if estimate_kb > limit:
            trial.set_user_attr("reason", f"estimate: ~{estimate_kb:.0f} KB of weights > {limit:g} KB budget")
            raise optuna.TrialPruned()


def _same_settings(trial) -> int | None:
    """The number of an earlier trial of this study that drew exactly these settings, if any."""
    for other in trial.study.get_trials(deepcopy=False):
        if other.number < trial.number and other.params == trial.params:
            return other.number
    return None


def trial_dir(out: Path, number: int) -> Path:
    return out / "trials" / f"{number:04d}"


def fail_abandoned(out: Path, config: SearchConfig) -> int:
    """Mark trials left RUNNING by a killed search as failed (the folder's lock says no search runs now); returns
    how many trials the study holds."""
    from optuna.trial import TrialState

    storage = _storage(out)
    study = _study(out, config)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_user_attr(t._trial_id, "reason", "its search was killed mid-trial")
        storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
        with writing(trial_dir(out, t.number)):  # takes over its lock and removes its half-built run folder
            pass
    return len(study.get_trials(deepcopy=False))


def _report(number: int, cand: Candidate, figures: dict, broken: list[str]) -> None:
    import os

    if os.environ.get("KDEDGE_QUIET"):
        return
    status = "fits" if not broken else "breaks " + ", ".join(broken)
    mcu = (
        f", flash {figures['flash_kb']:.1f} KB, RAM {figures['ram_kb']:.2f} KB"
        if figures.get("flash_kb") is not None
        else ""
    )
    _say(
        f"trial {number}: {cand.describe()}: val acc {figures['val_accuracy']:.4f}, p50 {figures['p50_us']:.3g} µs, "
        f"{figures['size_kb']:.1f} KB{mcu} — {status}"
    )


def _say(line: str) -> None:
    import os

    if not os.environ.get("KDEDGE_QUIET"):
        print(line, file=sys.stderr)


def _worker(out: str, n_trials: int, worker: int, resumed_at: int = 0, threads: int | None = None) -> None:
    from ..progress import progress_bar

    set_training_threads(threads)
    out_path = Path(out)
    config = SearchConfig(**read_json(out_path / CONFIG))
    study = _study(out_path, config, worker, resumed_at)
    # one bar in this process; the workers of a parallel search have none (KDEDGE_NO_BARS) and print trial lines
    trials = _Trials(out_path, config)

    def after(study, trial):
        advance(_status(study, config), **_done(config))
        if trials.board_error is not None:
            study.stop()

    label, total = _bar(config, n_trials)
    with progress_bar(label, total, transient=False) as advance:
        timeout = time_left(config.deadline)
        study.optimize(trials, n_trials=n_trials, timeout=timeout, catch=(KdedgeError,), callbacks=[after])
    if trials.board_error is not None:  # one line; --resume continues once the board is back
        raise trials.board_error


def _bar(config: SearchConfig, n_trials: int | None) -> tuple[str, int]:
    """A trial count, or with a time budget and no --trials the budget's seconds."""
    if n_trials is None:
        return "search: seconds", int(config.time_budget_s)
    return "search: trial", n_trials


def _done(config: SearchConfig) -> dict:
    """How far the bar is: one more trial, or the seconds spent of a time budget."""
    if config.deadline is None or config.time_budget_s is None:
        return {}
    spent = config.time_budget_s - (time_left(config.deadline) or 0.0)
    return {"completed": int(min(spent, config.time_budget_s))}


def _status(study, config: SearchConfig) -> str:
    status = best_so_far(study, config.objective)
    left = time_left(config.deadline)
    return status if left is None else f"{status} · {left / 60:.1f} min left"


def best_so_far(study, objective: str = "accuracy") -> str:
    """'best val acc 0.9610 (trial 3)' among finished trials inside the budget; '' while there is none."""
    import optuna

    fitting = [
        t
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if not t.user_attrs.get("broken")
    ]
    if not fitting:
        return "none inside the budget yet"
    best = max(fitting, key=lambda t: t.values[0])
    label = "val acc" if objective == "accuracy" else "val agreement"
    return f"best {label} {best.values[0]:.4f} (trial {best.number})"


def run_trials(
    out: Path,
    n_trials: int,
    jobs: int | None,
    resumed_at: int = 0,
    backend: str = "local",
    scheduler: str | None = None,
) -> None:
    if n_trials is not None and n_trials <= 0:
        raise OptionError(f"--trials must be positive, got {n_trials}")
    if backend == "dask":
        _run_on_dask(out, n_trials, jobs, resumed_at, scheduler)
        return
    jobs = jobs or 1
    if jobs <= 1:
        _worker(str(out), n_trials, 0, resumed_at)
        return
    shares = _shares(n_trials, jobs)
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: torch and onnxruntime do not fork well
    from ..progress import no_bars_in_children

    threads = share(jobs)  # workers share the CPUs instead of oversubscribing them
    procs = [
        ctx.Process(target=_worker, args=(str(out), n, i, resumed_at, threads)) for i, n in enumerate(shares) if n != 0
    ]
    with no_bars_in_children():  # workers print one line per trial instead
        for p in procs:
            p.start()
    _wait_showing_trials(out, n_trials, *_joining(procs))
    if any(p.exitcode for p in procs):
        raise RunError(f"a search worker failed (exit codes {[p.exitcode for p in procs]}); rerun with --resume {out}")


def _shares(n_trials: int | None, jobs: int) -> list[int | None]:
    """Each worker's trials; without a count (a time budget alone) every worker runs until the deadline."""
    if n_trials is None:
        return [None] * jobs
    return [n_trials // jobs + (i < n_trials % jobs) for i in range(jobs)]


def _run_on_dask(out: Path, n_trials: int, jobs: int | None, resumed_at: int, scheduler: str | None) -> None:
    """The same workers as local processes, as tasks on a Dask cluster's workers: each opens the study in OUT
    (SQLite; OUT must be at the same path on every worker, a shared disk) and draws from its own sampler seed."""
    from ..cluster import dask_client, worker_count

    with dask_client(scheduler) as client:
        jobs = jobs or worker_count(client)
        where, token = str(out.resolve()), uuid.uuid4().hex[:12]  # keys unique on a shared cluster
        futures = [
            client.submit(_worker, where, n, i, resumed_at, key=f"kdedge-search-{token}-{i}", pure=False)
            for i, n in enumerate(_shares(n_trials, jobs))
            if n != 0
        ]
        _wait_showing_trials(out, n_trials, *_awaiting(futures))
        failed = [f for f in futures if f.status != "finished"]
        if failed:
            exc = failed[0].exception()
            raise RunError(
                f"a search worker on the dask cluster failed ({type(exc).__name__}: {str(exc)[:200]}); rerun with "
                f"--resume {out}"
            )


def _wait_showing_trials(out: Path, n_trials: int, wait_for, running, every_seconds: float = 2.0) -> None:
    """Wait for the workers (`wait_for(seconds or None)`, `running()`: local processes or Dask futures); meanwhile
    one bar here counts the trials they finish in the shared study (and the best)."""
    from ..progress import progress_bar, silent

    if silent():
        wait_for(None)
        return
    config = SearchConfig(**read_json(out / CONFIG))
    study = _study(out, config)
    before = len(_finished(study))
    label, total = _bar(config, n_trials)
    with progress_bar(label, total, transient=False) as advance:
        while running():
            wait_for(every_seconds)
            done = _done(config) if n_trials is None else {"completed": len(_finished(study)) - before}
            advance(_status(study, config), **done)
    wait_for(None)


def _joining(procs):
    def wait_for(seconds):
        for p in procs:
            p.join(timeout=seconds)
            if seconds is not None and p.is_alive():
                return

    return wait_for, lambda: any(p.is_alive() for p in procs)


def _awaiting(futures):
    from distributed import wait

    def wait_for(seconds):
        with contextlib.suppress(TimeoutError):  # still running: the bar is updated, then we wait again
            wait(futures, timeout=seconds)

    return wait_for, lambda: not all(f.done() for f in futures)


def _finished(study) -> list:
    import optuna

    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)
    return study.get_trials(deepcopy=False, states=done)


def start_search(
    out: Path,
    config: SearchConfig,
    trials: int,
    jobs: int | None = None,
    families=None,
    space_file=None,
    overwrite: bool = False,
    backend: str = "local",
    scheduler: str | None = None,
) -> dict:
    """A new search in OUT. `backend="dask"`: trials run on the workers of `scheduler`, which must see OUT, the
    teacher and the data at the same paths (they are recorded absolute)."""
    from ..cluster import check_backend
    from ..convert.profiles import load_profile
    from ..jobs import resolve
    from ..outputs import check_not_input
    from ..params import check_seed

    # everything a trial would refuse is refused here, before the search folder exists
    check_backend(backend, scheduler)
    if backend == "dask":
        config.teacher = _absolute(config.teacher)
        config.data = _absolute(config.data) if config.data else config.data
    config.budget = {**profile_budgets(config.target), **config.budget}  # a C profile's flash/RAM, unless given
    budget = Budget(**config.budget)
    check_seed(config.seed)
    if config.max_epochs < 1:
        raise OptionError(f"--max-epochs {config.max_epochs}: give 1 or more")
    if not config.min_seconds >= 0:  # NaN too
        raise OptionError(f"--min-seconds {config.min_seconds}: give 0 or more seconds")
    if config.target is not None:
        load_profile(config.target)
    config.space, skipped = check_target(config.target, budget, load_space(space_file, families))
    config.skipped_families = skipped
    for family, why in skipped.items():  # said once, here: the sampler never draws them
        _say(f"search: skipping {family}: {why}")
    resolve(config.teacher, data=config.data, seed=config.seed)  # a bad teacher, or data it does not fit
    check_not_input(out, [config.teacher], "--teacher")
    if config.sampler not in SAMPLERS:
        raise OptionError(f"--sampler {config.sampler!r}: choose from {', '.join(SAMPLERS)}")
    if config.objective not in OBJECTIVES:
        raise OptionError(f"--objective {config.objective!r}: choose from {', '.join(OBJECTIVES)}")
    out = Path(out)
    _check_counts(trials, jobs)
    _check_board(config, jobs)
    with writing(out):
        if out.exists() and not overwrite:
            raise RunError(f"{out} already exists; continue it with --resume {out}, or pass --overwrite")
        _start_clock(config)
        with atomic_dir(out, overwrite=overwrite) as tmp:
            write_json(tmp / CONFIG, asdict(config))
            _study(tmp, config)  # creates study.db
        with _refused_writes_end_in_one_line(out, new=True):
            run_trials(out, trials, jobs, backend=backend, scheduler=scheduler)
            return finish(out)


@contextlib.contextmanager
def _refused_writes_end_in_one_line(out: Path, new: bool):
    """A full disk (any write the file system refuses) mid-search: one line. A new search without a finished
    trial leaves nothing; otherwise the study stays, for --resume once there is space."""
    try:
        yield
    except Exception as exc:
        refused = file_system_refusal(exc)
        if refused is None:
            raise
        finished = list((out / "trials").glob("*/kdedge.json")) if (out / "trials").is_dir() else []
        if new and not finished:
            shutil.rmtree(out, ignore_errors=True)
            raise RunError(f"{refused} (search {out}: nothing was kept)") from None
        raise RunError(f"{refused}; {len(finished)} finished trial(s) kept: kdedge search --resume {out}") from None


def _absolute(spec: str) -> str:
    """A path that exists here, made absolute (a worker's working folder is not ours); a name (digits) as it is."""
    return str(Path(spec).resolve()) if Path(spec).exists() else spec


def _start_clock(config: SearchConfig, time_budget_s: float | None = None) -> None:
    """The deadline of this run of the search, from now (a resumed search gets its own --time-budget)."""
    import time

    if time_budget_s is not None:
        config.time_budget_s = time_budget_s
    config.deadline = None if config.time_budget_s is None else time.time() + config.time_budget_s


def resume_search(
    out: Path,
    trials: int | None,
    jobs: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    time_budget=None,
) -> dict:
    from ..cluster import check_backend
    from ..jobs import resolve

    check_backend(backend, scheduler)
    out = Path(out)
    _check_counts(trials, jobs)
    if not (out / CONFIG).is_file() or not (out / STUDY_DB).is_file():
        raise RunError(f"{out}: not a kdedge search (no {CONFIG} / {STUDY_DB}); start one with kdedge search --out")
    config = read_config(out)
    _check_board(config, jobs)
    resolve(config.teacher, data=config.data, seed=config.seed)  # still there, and still the same weights
    _check_study_file(out / STUDY_DB)
    with writing(out):
        if time_budget is not None or config.deadline is not None:  # a budget is per run: a new one, or none
            config.time_budget_s = None
            _start_clock(config, None if time_budget is None else parse_duration(time_budget))
            write_json(out / CONFIG, asdict(config))
        if trials is None and config.time_budget_s is None:
            trials = DEFAULT_TRIALS
        done = fail_abandoned(out, config)
        with _refused_writes_end_in_one_line(out, new=False):
            run_trials(out, trials, jobs, resumed_at=done, backend=backend, scheduler=scheduler)
            return finish(out)


_REMAKE = "start a new search with kdedge search --out (this one cannot be resumed)"


def read_config(out: Path) -> SearchConfig:
    """OUT/search.json as the search wrote it: a damaged or edited one is one line naming it."""
    from dataclasses import fields

    raw = read_run_file(out / CONFIG, "search", _REMAKE)
    known = {f.name for f in fields(SearchConfig)}
    unknown, missing = sorted(set(raw) - known), "teacher" not in raw
    if unknown or missing:
        what = f"unknown field {unknown[0]!r}" if unknown else "no 'teacher' field"
        raise RunError(f"{out / CONFIG}: not a search record ({what}); {_REMAKE}")
    return SearchConfig(**raw)


def _check_study_file(path: Path) -> None:
    # An empty or foreign file would be silently turned into a new study by SQLite: check its header first.
    with open(path, "rb") as f:
        header = f.read(16)
    if header != b"SQLite format 3\x00":
        raise RunError(f"{path}: not an SQLite study (damaged or replaced); {_REMAKE}")


def _check_board(config: SearchConfig, jobs: int | None) -> None:
    """With a board: one trial measured there at a time (parallel ones would slow each other down), ONNX graphs
    only, and the board reachable with this kdedge before any training."""
    if config.board is None:
        return
    if jobs is not None and jobs > 1:
        raise OptionError(f"--jobs {jobs} with --on: trials measured on one board run one at a time; use --jobs 1")
    if target_format(config.target) != "onnx":
        raise OptionError(
            f"--on with --target {config.target}: the board measures ONNX graphs; C trials are timed here "
            "(drop --on, or search an ONNX target)"
        )
    from ..measure.board import check_board

    check_board(config.board)


def _check_counts(trials: int | None, jobs: int | None) -> None:
    if trials is not None and trials < 1:
        raise OptionError(f"--trials {trials}: give 1 or more")
    if jobs is not None and jobs < 1:
        raise OptionError(f"--jobs {jobs}: give 1 or more worker processes")


def finish(out: Path) -> dict:
    """Tables, plot and `best/`: the most accurate trial (on val) inside the budget, with its test figures."""
    from . import report

    config = SearchConfig(**read_json(out / CONFIG))
    budget = Budget(**config.budget)
    study = _study(out, config)
    judged_by = OBJECTIVES[config.objective]
    rows = report.trial_rows(study, budget, judged_by)
    report.write_tables(out, rows, budget)
    report.plot(out / "pareto.png", rows, budget, judged_by)
    feasible = [r for r in rows if r["state"] == "COMPLETE" and not r["broken"]]
    if not feasible:
        raise BudgetError(report.closest_message(rows, budget))
    best = max(feasible, key=lambda r: (r[judged_by], r["val_accuracy"], -r["p50_us"], -r["size_kb"]))
    final = _final_bench(out, config, best)
    summary = {
        "trials": len(rows),
        "completed": sum(r["state"] == "COMPLETE" for r in rows),
        "pruned": sum(r["state"] == "PRUNED" for r in rows),
        "feasible": len(feasible),
        "skipped_families": config.skipped_families,
        "best": best,
        "test": final,
    }
    write_json(out / "summary.json", summary)
    return summary


def _final_bench(out: Path, config: SearchConfig, best: dict) -> dict:
    """Copy the winner to best/ and measure it beside the teacher on the test split (the only time test is used)."""
    from ..jobs import resolve
    from ..measure import Entry, bench
    from ..measure.runs import c_entries

    teacher, dataset, _ = resolve(config.teacher, data=config.data, seed=config.seed)
    graph = _teacher_graph(teacher, config.teacher)
    with atomic_dir(out / "best", overwrite=True) as tmp:
        shutil.copytree(best["run"], tmp, dirs_exist_ok=True)
    x_test, y_test = dataset.split("test")
    c_found, _ = c_entries([out / "best"], names=["best"])  # a C search's winner: its C row (timed in C) too
    entries = [Entry("best", out / "best" / "model.onnx")]
    entries += [Entry("teacher", graph, "teacher")] if graph is not None else []
    if config.board is not None:  # the winner's test figures on the board its budget was measured on
        from ..measure.board import bench_models_on

        result = bench_models_on(config.board, entries, x_test, y_test, dataset.describe())
    else:
        result = bench(entries, x_test, y_test, c_entries=c_found)
    result["data"] = dataset.describe()
    write_json(out / "best" / "bench.json", result)
    return result


def _teacher_graph(teacher, spec: str) -> Path | None:
    """The teacher's ONNX graph for the final bench: a run's (exported now if it has none), an .onnx teacher
    itself; None for a TorchScript or weights teacher (the winner is then benched alone)."""
    from ..convert import export_run

    run = getattr(teacher, "run", None)
    if run is not None:
        if not run.onnx_path.is_file():
            export_run(run.path)
        return run.onnx_path
    return Path(spec) if Path(spec).suffix == ".onnx" else None
