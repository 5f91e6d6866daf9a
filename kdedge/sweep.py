"""Sweeps: every combination of a grid over recipe keys, each an ordinary recipe run in its own folder.

    OUT/sweep.json                  the base recipe record, the grid and the combinations
    OUT/teachers/KEY/teacher/       one teacher per distinct (data, teacher, seed, export) setting, shared
    OUT/<combination>/              a recipe run (recipe.json, students, bench.json, done.json)
    OUT/results.{csv,md,json}       mean ± std over the seed keys, grouped by the other swept keys

Grid keys address recipe fields as `kdedge run --set` does (see kdedge/recipes/address.py). A combination is
finished when its `done.json` (written last, atomically) matches its recipe, so rerunning an interrupted sweep
skips what finished and redoes the rest. Jobs run in local processes (`--jobs N`) or on a Dask cluster; either way
every worker must see OUT at the same path (one machine, or a shared filesystem).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._io import atomic_path, read_json, read_run_file, write_json
from .compute import set_training_threads, share
from .errors import KdedgeError, OptionError, RunError, file_system_refusal
from .outputs import check_out_dir, writing
from .recipes import Recipe, from_record, is_done, run_recipe
from .recipes.loader import parse
from .recipes.runner import BENCH, check_trust, teacher_ready, train_teacher
from .runs import now

PLAN = "sweep.json"
TEACHERS = "teachers"
RESULTS_CSV = "results.csv"
RESULTS_MD = "results.md"
RESULTS_JSON = "results.json"
BACKENDS = ("local", "dask")


@dataclass
class Combo:
    name: str
    assignments: list[tuple[str, Any]]
    recipe: Recipe


@dataclass
class SweepPlan:
    base: Recipe
    grid: list[tuple[str, list[Any]]]
    combos: list[Combo]
    out: Path
    jobs: int


def is_seed_key(key: str) -> bool:
    return key == "seed" or key.endswith(".seed")


def plan_sweep(recipe: Recipe, grid: list[tuple[str, list[Any]]], out: Path) -> SweepPlan:
    """Expand the grid (the recipe's [sweep.grid], then --grid on top) and validate every combination now."""
    merged: dict[str, list[Any]] = dict(recipe.plan.sweep.grid if recipe.plan.sweep else {})
    merged.update(dict(grid))
    if not merged:
        raise OptionError("nothing to sweep: give --grid KEY=V1,V2 (e.g. --grid seed=0,1,2) or a [sweep.grid] table")
    for key, values in merged.items():
        if not values:
            raise OptionError(f"--grid {key}: no values; give at least one, e.g. {key}=1,2")
    keys = list(merged)
    combos, names = [], set()
    for values in itertools.product(*(merged[k] for k in keys)):
        assignments = list(zip(keys, values, strict=True))
        name = _slug(assignments)
        if name in names:
            name += "_" + hashlib.sha256(json.dumps(assignments, default=str).encode()).hexdigest()[:6]
        names.add(name)
        r = recipe
        combo_recipe = parse(r.name, r.source, r.text, r.base_dir, [*r.overrides, *assignments], flag="--grid")
        combos.append(Combo(name, assignments, combo_recipe))
    jobs = recipe.plan.sweep.jobs if recipe.plan.sweep else 1
    return SweepPlan(recipe, list(merged.items()), combos, Path(out), jobs)


def _slug(assignments) -> str:
    parts = []
    for key, value in assignments:
        text = value if isinstance(value, str) else json.dumps(value)
        parts.append(f"{key}-{text}")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "__".join(parts)).strip("_")[:150]


# -- jobs -----------------------------------------------------------------------------------------------------------


# A Dask worker may run several tasks in threads of one process. Jobs there take turns: torch already spreads one
# job over the cores, and torch.onnx.export is not thread-safe (two at once crashed in onnxscript's AST parsing).
_ONE_JOB_PER_PROCESS = threading.Lock()


def run_job(job: dict) -> dict:
    """One unit of work, in whatever process or Dask worker runs it: train a shared teacher, or run a recipe.

    Any error becomes {"ok": False, "error": ...} so one bad combination does not stop the others."""
    os.environ.setdefault("KDEDGE_QUIET", "1")
    if job.get("threads"):
        set_training_threads(job["threads"])
    recipe = from_record(job["record"])
    out = Path(job["out"])
    with _ONE_JOB_PER_PROCESS:
        try:
            if job["kind"] == "teacher":
                train_teacher(recipe, out, log=lambda line: None)
            else:
                teacher_run = Path(job["teacher_run"]) if job.get("teacher_run") else None
                run_recipe(
                    recipe,
                    out,
                    overwrite=True,
                    teacher_run=teacher_run,
                    log=lambda line: None,
                    trust_code=job.get("trust_code", False),
                )
        except KdedgeError as exc:
            return {"name": job["name"], "ok": False, "error": str(exc)}
        except Exception as exc:  # a bug or a library's error in one combination must not stop the others
            refused = file_system_refusal(exc)
            if refused is not None:  # a full disk fails every combination alike: the sweep stops (_run_sweep)
                return {"name": job["name"], "ok": False, "error": refused, "refused_write": True}
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            return {
                "name": job["name"],
                "ok": False,
                "error": f"unexpected {type(exc).__name__}: {first} (run this combination alone with "
                "'kdedge run' to see the traceback)",
            }
    return {"name": job["name"], "ok": True}


@contextlib.contextmanager
def executor(n_jobs: int, backend: str, scheduler: str | None, report: Callable[[dict], dict]):
    """Yield `run(jobs) -> results` for one backend, open for the whole sweep (one pool, one client); `report`
    sees each result as it arrives."""
    if backend == "dask":
        with _dask_client(scheduler) as client:

            def run_on_dask(jobs):
                from distributed import as_completed

                futures = [client.submit(run_job, j, key=f"kdedge-{j['kind']}-{j['name']}", pure=False) for j in jobs]
                return [report(f.result()) for f in as_completed(futures)]

            yield run_on_dask
        return
    if n_jobs <= 1:
        yield lambda jobs: [report(run_job(job)) for job in jobs]
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = share(n_jobs)  # jobs share the CPUs instead of oversubscribing them
    # spawn, not fork: forking a process that already loaded torch's thread pools can deadlock.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(n_jobs, context, initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:

        def run_locally(jobs):
            futures = [pool.submit(run_job, {**job, "threads": threads}) for job in jobs]
            return [report(f.result()) for f in as_completed(futures)]

        yield run_locally


def _die_with_parent(parent: int) -> None:
    """In a sweep worker: be killed with the sweep (Linux's parent-death signal), not finish a queue nobody reads
    after a kill -9 of the sweep. Elsewhere a no-op; the pool still stops its workers on a normal exit."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux
        return
    if os.getppid() != parent:  # the sweep died before the signal was armed
        os._exit(1)


def _dask_client(scheduler: str | None):
    from .cluster import dask_client  # the one client of every --backend dask (sweep, search, teacher outputs)

    return dask_client(scheduler)


class _Tally:
    """Counts finished jobs: one line each with i/N and an ETA from the mean time so far, and the bar's step."""

    def __init__(self, total: int, log: Callable[[str], None], advance: Callable[[str], None]):
        self.total, self.done, self.log, self.advance = total, 0, log, advance
        self.start = time.perf_counter()

    def __call__(self, result: dict) -> dict:
        from .progress import eta_text

        self.done += 1
        eta = eta_text(self.done, self.total, time.perf_counter() - self.start)
        status = "done" if result["ok"] else f"FAILED: {result['error']}"
        self.log(f"  [{self.done}/{self.total}] {result['name']}: {status}" + (f" ({eta})" if eta else ""))
        self.advance(f"{result['name']} {eta}")
        return result


# -- the sweep ------------------------------------------------------------------------------------------------------


def teacher_key(recipe: Recipe) -> str | None:
    """Combinations whose teacher would come out identical share one: same data, teacher options, seed, export."""
    plan = recipe.plan
    if plan.teacher is None or plan.teacher.arch is None:
        return None
    what = [vars(plan.data), vars(plan.teacher), plan.seed, plan.profile.model_dump(), str(recipe.base_dir)]
    return hashlib.sha256(json.dumps(what, default=str, sort_keys=True).encode()).hexdigest()[:12]


def teacher_folder(recipe: Recipe, key: str) -> str:
    """A shared teacher's folder: what it is (data, family, seed), then the key's first digits for the rest
    (teacher options, export), e.g. digits-cnn-seed0-3fa2c1."""
    plan = recipe.plan
    data = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(plan.data.spec).stem or "data")
    return f"{data}-{plan.teacher.arch}-seed{plan.seed}-{key[:6]}"


def _check_plan_file(plan: SweepPlan, overwrite: bool) -> None:
    path = plan.out / PLAN
    record = {
        "recipe": plan.base.record(),
        "grid": [[k, v] for k, v in plan.grid],
        "combos": [{"name": c.name, "assignments": [[k, v] for k, v in c.assignments]} for c in plan.combos],
    }
    if plan.out.exists() and not plan.out.is_dir():
        raise RunError(f"--out {plan.out} is a file; give a folder for the sweep")
    if path.is_file():
        previous = read_run_file(path, "sweep", "rerun the sweep into a new --out")
        same = previous.get("recipe", {}).get("digest") == plan.base.digest() and previous.get("grid") == json.loads(
            json.dumps(record["grid"])
        )
        if overwrite:
            check_out_dir(plan.out, overwrite)
            shutil.rmtree(plan.out)
        elif not same:
            raise RunError(
                f"{plan.out} holds a sweep of another recipe or grid; choose another --out or pass --overwrite"
            )
    elif plan.out.exists() and any(plan.out.iterdir()):
        raise RunError(f"{plan.out} exists and is not a sweep folder; choose another --out")
    created = not plan.out.exists()
    plan.out.mkdir(parents=True, exist_ok=True)
    try:
        write_json(path, {**record, "updated": now()})
    except BaseException:  # a full disk: no empty sweep folder left behind
        if created:
            shutil.rmtree(plan.out, ignore_errors=True)
        raise
    return created


def run_sweep(
    plan: SweepPlan,
    jobs: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    overwrite: bool = False,
    log: Callable[[str], None] = print,
    trust_code: bool = False,
) -> dict:
    """Run the combinations not yet finished (teachers first), then write and return the results table.
    `trust_code`: consent to run the code a recipe's `teacher.factory` names (as `kdedge run --trust-code`)."""
    if backend not in BACKENDS:
        raise OptionError(f"unknown --backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if backend == "dask" and not scheduler:
        raise OptionError("--backend dask needs --scheduler tcp://HOST:PORT (a running dask scheduler)")
    n_jobs = plan.jobs if jobs is None else jobs
    if n_jobs < 1:
        raise OptionError(f"--jobs {n_jobs}: give 1 or more")
    for combo in plan.combos:  # before any work: a factory's code runs only with consent
        check_trust(combo.recipe, trust_code)
    with writing(plan.out):
        return _run_sweep(plan, n_jobs, backend, scheduler, overwrite, log, trust_code)


def _run_sweep(plan: SweepPlan, n_jobs: int, backend, scheduler, overwrite: bool, log, trust_code: bool) -> dict:
    created = _check_plan_file(plan, overwrite)

    teacher_dirs: dict[str, Path] = {}
    teacher_jobs = []
    for combo in plan.combos:
        key = teacher_key(combo.recipe)
        if key is None or key in teacher_dirs:
            continue
        folder = teacher_folder(combo.recipe, key)
        teacher_dirs[key] = plan.out / TEACHERS / folder / "teacher"  # named 'teacher' in every bench table
        if not teacher_ready(teacher_dirs[key]):
            teacher_jobs.append(_job("teacher", f"teacher {folder}", combo.recipe, teacher_dirs[key]))
    pending = [c for c in plan.combos if not is_done(plan.out / c.name, c.recipe)]
    skipped = len(plan.combos) - len(pending)
    log(
        f"sweep {plan.out}: {len(plan.combos)} combinations ({skipped} finished before), "
        f"{len(teacher_dirs)} distinct teachers ({len(teacher_jobs)} to train); {n_jobs} job(s), {backend}"
    )
    from .progress import progress_bar

    total = len(teacher_jobs) + len(pending)  # teachers to train, then combinations: i/N counts both
    with progress_bar("sweep: job", total, transient=False) as advance:
        tally = _Tally(total, log, advance)
        results, ran = _run_all(
            plan, n_jobs, backend, scheduler, tally, teacher_jobs, pending, teacher_dirs, trust_code
        )
    _stop_on_refused_write(plan, results, created)

    table = results_table(plan)
    csv_path, md_path = plan.out / RESULTS_CSV, plan.out / RESULTS_MD
    markdown = to_markdown(table, plan, n_jobs)
    with atomic_path(csv_path) as tmp:
        tmp.write_text(to_csv(table))
    with atomic_path(md_path) as tmp:
        tmp.write_text(markdown + "\n")
    write_json(plan.out / RESULTS_JSON, table)
    return {
        "out": str(plan.out),
        "combinations": len(plan.combos),
        "skipped": skipped,
        "ran": ran,
        "failed": [r for r in results if not r["ok"]],
        "csv": str(csv_path),
        "markdown_path": str(md_path),
        "json_path": str(plan.out / RESULTS_JSON),
        "markdown": markdown,
        "rows": table["rows"],
    }


def _stop_on_refused_write(plan: SweepPlan, results: list[dict], created: bool) -> None:
    """A write the file system refused (a full disk): one line, no results files; the folder goes if this call
    made it and no combination finished, else the finished ones stay for the same command to skip."""
    refused = next((r for r in results if r.get("refused_write")), None)
    if refused is None:
        return
    finished = [c for c in plan.combos if is_done(plan.out / c.name, c.recipe)]
    if created and not finished:
        shutil.rmtree(plan.out, ignore_errors=True)
        kept = "nothing was kept"
    else:
        kept = f"{len(finished)} finished combination(s) kept in {plan.out}, skipped by the same command"
    raise RunError(f"{refused['error']} ({refused['name']}); {kept}")


def _run_all(
    plan, n_jobs, backend, scheduler, tally, teacher_jobs, pending, teacher_dirs, trust_code: bool = False
) -> tuple[list[dict], int]:
    """Teachers first, then the combinations whose teacher did not fail; every result passes through `tally`.
    Returns the results and how many combinations ran."""
    with executor(n_jobs, backend, scheduler, tally) as run:
        results = run(teacher_jobs) if teacher_jobs else []
        failed_teachers = {r["name"] for r in results if not r["ok"]}
        combo_jobs = []
        for combo in pending:
            key = teacher_key(combo.recipe)
            folder = teacher_folder(combo.recipe, key) if key is not None else None
            if folder is not None and f"teacher {folder}" in failed_teachers:
                results.append(tally({"name": combo.name, "ok": False, "error": f"its teacher {folder} failed"}))
                continue
            job = _job("recipe", combo.name, combo.recipe, plan.out / combo.name, teacher_dirs.get(key))
            combo_jobs.append({**job, "trust_code": trust_code})
        return results + (run(combo_jobs) if combo_jobs else []), len(combo_jobs)


def _job(kind: str, name: str, recipe: Recipe, out: Path, teacher_run: Path | None = None) -> dict:
    return {
        "kind": kind,
        "name": name,
        "record": recipe.record(),
        "out": str(out),
        "teacher_run": str(teacher_run) if teacher_run else None,
    }


# -- the results table ----------------------------------------------------------------------------------------------

METRICS = (  # (column, label, how to read it from a bench row, scale)
    ("accuracy", "acc %", lambda r: r.get("accuracy"), 100.0),
    ("agreement", "agree %", lambda r: r.get("agreement"), 100.0),
    ("p50_us", "p50 µs", lambda r: r["latency"]["p50_us"], 1.0),
    ("size_kb", "size KB", lambda r: r.get("size_kb"), 1.0),
)


def results_table(plan: SweepPlan) -> dict:
    """Mean and std (over the seed keys) of each model's bench figures, grouped by the other swept keys."""
    group_keys = [k for k, _ in plan.grid if not is_seed_key(k)]
    seed_keys = [k for k, _ in plan.grid if is_seed_key(k)]
    groups: dict[tuple, dict[str, list]] = {}
    for combo in plan.combos:
        bench_path = plan.out / combo.name / BENCH
        if not is_done(plan.out / combo.name, combo.recipe) or not bench_path.is_file():
            continue
        values = dict(combo.assignments)
        for row in read_json(bench_path)["rows"]:
            if row["kind"] == "floor":
                continue
            group = (*(json.dumps(values[k]) for k in group_keys), row["name"])
            bucket = groups.setdefault(group, {m[0]: [] for m in METRICS})
            for column, _, read, scale in METRICS:
                value = read(row)
                if value is not None:
                    bucket[column].append(value * scale)
    rows = []
    for group, bucket in groups.items():
        row = {k: json.loads(v) for k, v in zip(group_keys, group[:-1], strict=True)}
        row["model"] = group[-1]
        row["n"] = max(len(v) for v in bucket.values())
        for column, values in bucket.items():
            row[f"{column}_mean"] = float(np.mean(values)) if values else None
            # sample std over seeds (ddof=1); a single run has none
            row[f"{column}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else None
        rows.append(row)
    return {"group_keys": group_keys, "seed_keys": seed_keys, "rows": rows}


def to_csv(table: dict) -> str:
    import csv
    import io

    columns = [*table["group_keys"], "model", "n"] + [f"{m[0]}_{s}" for m in METRICS for s in ("mean", "std")]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in table["rows"]:
        writer.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in columns})
    return buffer.getvalue()


def _mean_std(row: dict, column: str, digits: int) -> str:
    mean, std = row.get(f"{column}_mean"), row.get(f"{column}_std")
    if mean is None:
        return "—"
    return f"{mean:.{digits}f}" + ("" if std is None else f" ± {std:.{digits}f}")


def to_markdown(table: dict, plan: SweepPlan | None = None, n_jobs: int = 1) -> str:
    header = [*table["group_keys"], "model", "n", *(m[1] for m in METRICS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for row in table["rows"]:
        cells = [json.dumps(row[k]) if not isinstance(row[k], str) else row[k] for k in table["group_keys"]]
        cells += [row["model"], str(row["n"])]
        cells += [_mean_std(row, "accuracy", 2), _mean_std(row, "agreement", 2)]
        cells += [_mean_std(row, "p50_us", 1), _mean_std(row, "size_kb", 1)]
        lines.append("| " + " | ".join(cells) + " |")
    over = ", ".join(table["seed_keys"]) or "nothing (one run per cell)"
    note = f"mean ± sample std over {over}; test split; p50 latency at the bench's first threads/batch setting"
    if n_jobs > 1:
        note += f" (measured while up to {n_jobs} jobs ran at once: compare latencies within a sweep, not across)"
    return "\n".join(lines) + "\n\n" + note + "."
