"""`kdedge search`: an Optuna study whose every trial is an ordinary distill -> export -> bench.

The study lives in SQLite inside the search directory, so a search resumes after Ctrl-C or a crash and several
worker processes share it. Selection uses the validation split only; the test split is touched once, for `best/`.
"""

from __future__ import annotations

import math
import multiprocessing
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .._io import atomic_dir, read_json, write_json
from ..compute import set_training_threads, share
from ..errors import BoardError, KdedgeError, OptionError, RunError
from ..options import route
from ..outputs import writing
from ..students import student_class
from .budget import Budget
from .space import Candidate, load_space, suggest

CONFIG = "search.json"
STUDY_DB = "study.db"
STUDY_NAME = "kdedge-search"
SAMPLERS = ("nsga2", "tpe")
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
    min_seconds: float = 1.0  # latency timing per trial, as `kdedge bench --min-seconds`
    objective: str = "accuracy"  # or "agreement" with the teacher (fidelity, Stanton et al. 2021)
    board: dict | None = None  # kdedge.measure.board.Connection: trials measured on this board over SSH


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

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = _sampler(config)
    if worker or resumed_at:
        sampler = _sampler(SearchConfig(**{**asdict(config), "seed": config.seed + 1000 * worker + resumed_at}))
    return optuna.create_study(
        study_name=STUDY_NAME,
        storage=_storage(out),
        directions=["maximize", "minimize", "minimize"],  # val accuracy, p50 latency, ONNX size
        sampler=sampler,
        load_if_exists=True,
    )


class _Trials:
    """What every trial of one worker shares: the data, the teacher and its labels on the val split."""

    def __init__(self, out: Path, config: SearchConfig):
        from ..teachers import load_teacher

        self.out, self.config = out, config
        self.budget = Budget(**config.budget)
        self.teacher = load_teacher(config.teacher)
        self.dataset = self.teacher.run.dataset(config.data)
        self.data_source = config.data or self.teacher.run.manifest.data.source
        self.x_val, self.y_val = self.dataset.split("val")
        self.teacher_val_labels = self.teacher.logits(self.x_val).argmax(1)
        self.board_error: BoardError | None = None

    def __call__(self, trial):
        try:
            return self._trial(trial)
        except KdedgeError as exc:  # the trial is recorded as failed; keep why, for the tables
            trial.set_user_attr("reason", str(exc))
            raise

    def _trial(self, trial):
        import optuna

        from ..convert import export_run
        from ..distillation.run import fit_run
        from ..measure import Entry

        cand = suggest(trial, self.config.space)
        trial.set_user_attr("settings", cand.describe())
        earlier = _same_settings(trial)
        if earlier is not None:  # a small space, or a resumed sampler: measured already, so not trained again
            trial.set_user_attr("reason", f"same settings as trial {earlier}")
            raise optuna.TrialPruned()
        self._prune_by_estimate(trial, cand)
        run_dir = self.out / "trials" / f"{trial.number:04d}"
        options = dict(cand.options)
        if student_class(cand.family).neural:
            options.setdefault("epochs", self.config.max_epochs)
        routed = route(cand.family, cand.method, cand.transfer, options)
        run = fit_run(
            out=run_dir,
            kind="student",
            family=cand.family,
            options=routed.family_options,
            method=routed.method,
            dataset=self.dataset,
            data_source=self.data_source,
            seed=self.config.seed,
            teacher=self.teacher,
            overwrite=True,
            transfer=routed.transfer,
        )
        export_run(run.path, **({"target": self.config.target} if self.config.target else {}))
        # Measured on the validation split, exactly as `kdedge bench` measures (latency, memory, size), here or on
        # the board
        row = self._measure(trial, Entry(run.name, run.path / "model.onnx"))
        from ..measure.quality import predict

        _, labels = predict(run.path / "model.onnx", self.x_val)
        figures = {
            "val_accuracy": row["accuracy"],
            "agreement": float(np.mean(labels == self.teacher_val_labels)),
            "p50_us": row["latency"]["p50_us"],
            "size_kb": row["size_kb"],
            "memory_mb": row["memory"]["model_mb"],
            "n_params": row["n_params"],
        }
        trial.set_user_attr("figures", figures)
        trial.set_user_attr("run", str(run.path))
        trial.set_user_attr("family", cand.family)
        for name, value in self.budget.violations(figures).items():
            trial.set_constraint(name, value)
        trial.set_user_attr("broken", self.budget.broken(figures))
        _report(trial.number, cand, figures, self.budget.broken(figures))
        if not math.isfinite(figures["p50_us"]):
            raise optuna.TrialPruned("latency could not be measured")
        return figures[OBJECTIVES[self.config.objective]], figures["p50_us"], figures["size_kb"]

    def _measure(self, trial, entry) -> dict:
        from ..measure import bench

        if self.config.board is None:
            return bench(
                [entry],
                self.x_val,
                self.y_val,
                memory=True,
                floor=False,
                latency_options={"min_seconds": self.config.min_seconds},
            )["rows"][0]
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

        limit = self.budget.max_size_kb
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


def fail_abandoned(out: Path, config: SearchConfig) -> int:
    """Mark trials left RUNNING by a killed search as failed (the folder's lock says no search runs now); returns
    how many trials the study holds."""
    from optuna.trial import TrialState

    storage = _storage(out)
    study = _study(out, config)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_user_attr(t._trial_id, "reason", "its search was killed mid-trial")
        storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
    return len(study.get_trials(deepcopy=False))


def _report(number: int, cand: Candidate, figures: dict, broken: list[str]) -> None:
    import os

    if os.environ.get("KDEDGE_QUIET"):
        return
    status = "fits" if not broken else "breaks " + ", ".join(broken)
    print(
        f"trial {number}: {cand.describe()}: val acc {figures['val_accuracy']:.4f}, p50 {figures['p50_us']:.1f} µs, "
        f"{figures['size_kb']:.1f} KB — {status}",
        file=sys.stderr,
    )


def _worker(out: str, n_trials: int, worker: int, resumed_at: int = 0, threads: int | None = None) -> None:
    from ..progress import progress_bar

    set_training_threads(threads)
    out_path = Path(out)
    config = SearchConfig(**read_json(out_path / CONFIG))
    study = _study(out_path, config, worker, resumed_at)
    # one bar in this process; the workers of a parallel search have none (KDEDGE_NO_BARS) and print trial lines
    trials = _Trials(out_path, config)

    def after(study, trial):
        advance(best_so_far(study, config.objective))
        if trials.board_error is not None:
            study.stop()

    with progress_bar("search: trial", n_trials, transient=False) as advance:
        study.optimize(trials, n_trials=n_trials, catch=(KdedgeError,), callbacks=[after])
    if trials.board_error is not None:  # one line; --resume continues once the board is back
        raise trials.board_error


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


def run_trials(out: Path, n_trials: int, jobs: int, resumed_at: int = 0) -> None:
    if n_trials <= 0:
        raise OptionError(f"--trials must be positive, got {n_trials}")
    if jobs <= 1:
        _worker(str(out), n_trials, 0, resumed_at)
        return
    shares = [n_trials // jobs + (i < n_trials % jobs) for i in range(jobs)]
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: torch and onnxruntime do not fork well
    from ..progress import no_bars_in_children

    threads = share(jobs)  # workers share the CPUs instead of oversubscribing them
    procs = [ctx.Process(target=_worker, args=(str(out), n, i, resumed_at, threads)) for i, n in enumerate(shares) if n]
    with no_bars_in_children():  # workers print one line per trial instead
        for p in procs:
            p.start()
    _wait_showing_trials(out, procs, n_trials)
    if any(p.exitcode for p in procs):
        raise RunError(f"a search worker failed (exit codes {[p.exitcode for p in procs]}); rerun with --resume {out}")


def _wait_showing_trials(out: Path, procs, n_trials: int, every_seconds: float = 2.0) -> None:
    """Join the workers; meanwhile one bar here counts the trials they finish in the shared study (and the best)."""
    from ..progress import progress_bar, silent

    if silent():
        for p in procs:
            p.join()
        return
    config = SearchConfig(**read_json(out / CONFIG))
    study = _study(out, config)
    before = len(_finished(study))
    with progress_bar("search: trial", n_trials, transient=False) as advance:
        alive = [p for p in procs if p.is_alive()]
        while alive:
            alive[0].join(timeout=every_seconds)
            advance(best_so_far(study, config.objective), completed=len(_finished(study)) - before)
            alive = [p for p in procs if p.is_alive()]
    for p in procs:
        p.join()


def _finished(study) -> list:
    import optuna

    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)
    return study.get_trials(deepcopy=False, states=done)


def start_search(
    out: Path, config: SearchConfig, trials: int, jobs: int = 1, families=None, space_file=None, overwrite: bool = False
) -> dict:
    from ..teachers import load_teacher

    Budget(**config.budget)  # validate before any work
    config.space = load_space(space_file, families)
    load_teacher(config.teacher)  # fail early on a bad teacher
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
        with atomic_dir(out, overwrite=overwrite) as tmp:
            write_json(tmp / CONFIG, asdict(config))
            _study(tmp, config)  # creates study.db
        run_trials(out, trials, jobs)
        return finish(out)


def resume_search(out: Path, trials: int, jobs: int = 1) -> dict:
    out = Path(out)
    _check_counts(trials, jobs)
    if not (out / CONFIG).is_file() or not (out / STUDY_DB).is_file():
        raise RunError(f"{out}: not a kdedge search (no {CONFIG} / {STUDY_DB}); start one with kdedge search --out")
    config = SearchConfig(**read_json(out / CONFIG))
    _check_board(config, jobs)
    with writing(out):
        done = fail_abandoned(out, config)
        run_trials(out, trials, jobs, resumed_at=done)
        return finish(out)


def _check_board(config: SearchConfig, jobs: int) -> None:
    """With a board: one trial measured there at a time (parallel ones would slow each other down), and the board
    reachable with this kdedge before any training."""
    if config.board is None:
        return
    if jobs > 1:
        raise OptionError(f"--jobs {jobs} with --on: trials measured on one board run one at a time; use --jobs 1")
    from ..measure.board import check_board

    check_board(config.board)


def _check_counts(trials: int, jobs: int) -> None:
    if trials < 1:
        raise OptionError(f"--trials {trials}: give 1 or more")
    if jobs < 1:
        raise OptionError(f"--jobs {jobs}: give 1 or more worker processes")


def finish(out: Path) -> dict:
    """Tables, plot and `best/`: the most accurate trial (on val) inside the budget, with its test figures."""
    from . import report

    config = SearchConfig(**read_json(out / CONFIG))
    budget = Budget(**config.budget)
    study = _study(out, config)
    rows = report.trial_rows(study)
    report.write_tables(out, rows, budget)
    report.plot(out / "pareto.png", rows, budget)
    feasible = [r for r in rows if r["state"] == "COMPLETE" and not r["broken"]]
    if not feasible:
        raise BudgetError(report.closest_message(rows, budget))
    judged_by = OBJECTIVES[config.objective]
    best = max(feasible, key=lambda r: (r[judged_by], r["val_accuracy"], -r["p50_us"], -r["size_kb"]))
    final = _final_bench(out, config, best)
    summary = {
        "trials": len(rows),
        "completed": sum(r["state"] == "COMPLETE" for r in rows),
        "feasible": len(feasible),
        "best": best,
        "test": final,
    }
    write_json(out / "summary.json", summary)
    return summary


def _final_bench(out: Path, config: SearchConfig, best: dict) -> dict:
    """Copy the winner to best/ and measure it beside the teacher on the test split (the only time test is used)."""
    from ..convert import export_run
    from ..measure import Entry, bench
    from ..runs import Run

    teacher_run = Run.load(config.teacher)
    if not teacher_run.onnx_path.is_file():
        export_run(teacher_run.path)
    with atomic_dir(out / "best", overwrite=True) as tmp:
        shutil.copytree(best["run"], tmp, dirs_exist_ok=True)
    dataset = teacher_run.dataset(config.data)
    x_test, y_test = dataset.split("test")
    entries = [Entry("best", out / "best" / "model.onnx"), Entry("teacher", teacher_run.onnx_path, "teacher")]
    if config.board is not None:  # the winner's test figures on the board its budget was measured on
        from ..measure.board import bench_models_on

        result = bench_models_on(config.board, entries, x_test, y_test, dataset.describe())
    else:
        result = bench(entries, x_test, y_test)
    result["data"] = dataset.describe()
    write_json(out / "best" / "bench.json", result)
    return result
