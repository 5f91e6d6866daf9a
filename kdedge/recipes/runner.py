"""Run a validated recipe: teacher -> students -> export -> bench, with the library functions the CLI commands use.

Output (`--out DIR`):
    recipe.toml    the recipe text, verbatim            recipe.json  text + overrides + base folder (rerun exactly)
    teacher/       the teacher run (when trained here)  NAME/        one run per student (and ensemble)
    bench.json     the bench result                     done.json    written last: the recipe finished
Each run's manifest also holds the recipe record (field `recipe`).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from .._io import write_json
from ..errors import ExportError, KdedgeError, RunError
from ..outputs import check_not_input, check_out_dir, writing
from ..runs import Run, now
from .loader import RECORD, TEXT_COPY, Recipe
from .schema import TEACHER, RecipeError

BENCH = "bench.json"
DONE = "done.json"


def is_done(out: Path, recipe: Recipe | None = None) -> bool:
    """Whether `out` holds a finished run of `recipe` (of any recipe when None)."""
    marker = Path(out) / DONE
    if not marker.is_file():
        return False
    if recipe is None:
        return True
    from .._io import read_json

    return read_json(marker).get("digest") == recipe.digest()


def prepare_out(out: Path, overwrite: bool) -> None:
    """Called holding OUT's lock. A recipe output is whole (done.json) or removed when a step fails, so one with
    recipe.json and no done.json is what a killed `kdedge run` left: it goes, as a killed command's .partial does."""
    if out.is_dir() and (out / RECORD).is_file() and not (out / DONE).exists():
        shutil.rmtree(out)
    check_out_dir(out, overwrite)  # the one rule for every --out: only a kdedge folder is replaced
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)


def load_data(recipe: Recipe):
    """The recipe's data set; a reader's refusal (an option it does not take, a bad file) names the recipe."""
    from ..data import load_dataset

    d = recipe.plan.data
    try:
        return load_dataset(d.spec, seed=d.seed, fmt=d.format, **d.options)
    except KdedgeError as exc:
        raise RecipeError(recipe.source, "data", str(exc)) from None


def train_teacher(recipe: Recipe, out: Path, dataset=None, log: Callable[[str], None] = print) -> Run:
    """Train and export the recipe's teacher into `out` (a run directory)."""
    from ..jobs import execute, teacher_job

    plan = recipe.plan
    dataset = dataset if dataset is not None else load_data(recipe)
    log(f"teacher: training {plan.teacher.arch} -> {out}")
    # the same job as `kdedge teacher train`'s: what the recipe leaves out comes from the data
    job, teacher_plan = teacher_job(
        dataset, plan.data.spec, out=out, arch=plan.teacher.arch, options=plan.teacher.options, seed=plan.seed,
        overwrite=True,
    )  # fmt: skip
    if teacher_plan.line():
        log(teacher_plan.line())
    run = execute(job)
    _record(run, recipe, TEACHER)
    _summary(run, log)
    return _export(run, recipe, log)


def teacher_ready(path: Path) -> bool:
    """A teacher run that finished training and export (what a sweep shares between combinations)."""
    try:
        run = Run.load(path)
    except RunError:
        return False
    return run.onnx_path.is_file() and bool(run.manifest.export)


def _export(run: Run, recipe: Recipe, log) -> Run:
    from ..convert import export_run

    try:
        info = export_run(run.path, target=recipe.plan.profile)
    except ExportError as exc:
        if not run.onnx_path.is_file() or not (Run.load(run.path).manifest.export or {}).get("int8_refused"):
            raise
        log(f"note: {exc}")  # the int8 graph missed its accuracy budget; the fp32 graph is kept and benched
        return Run.load(run.path)
    p = info["parity"]
    log(f"  exported {info['path']} ({info['bytes'] / 1024:.1f} KB, max abs diff {p['max_abs_diff']:.2g})")
    if info.get("int8_skipped"):
        log(f"  {info['int8_skipped']}")
    return Run.load(run.path)


def _record(run: Run, recipe: Recipe, entry: str) -> None:
    run.update(recipe={**recipe.record(), "entry": entry})


def run_recipe(
    recipe: Recipe,
    out: Path,
    overwrite: bool = False,
    teacher_run: Path | None = None,
    log: Callable[[str], None] = print,
    trust_code: bool = False,
) -> dict:
    """Run every step of `recipe` into `out`; returns the bench result (also in OUT/bench.json).

    `trust_code`: consent to run the code a `teacher.factory` names (refused without it; recorded with it).

    `teacher_run`: an already trained and exported teacher of this recipe (a sweep trains each distinct teacher
    once and shares it); by default the teacher is trained into OUT/teacher or loaded from the recipe's path.
    """
    out = Path(out)
    check_trust(recipe, trust_code)
    check_not_input(out, _read_paths(recipe), "recipe's input")
    dataset = load_data(recipe)  # before anything is written: a data problem leaves no half output
    with writing(out):
        prepare_out(out, overwrite)
        try:
            return _run_steps(recipe, dataset, out, teacher_run, log, trust_code)
        except BaseException:
            shutil.rmtree(out, ignore_errors=True)  # a recipe output is whole (done.json) or not there at all
            raise


def _read_paths(recipe: Recipe) -> list[Path]:
    """The files and folders a recipe reads (its teacher, its data): an --out over one would destroy it."""
    plan = recipe.plan
    paths = [plan.teacher.path] if plan.teacher is not None and plan.teacher.path is not None else []
    if plan.data.format is not None or Path(plan.data.spec.split(",")[0]).is_absolute():  # a path, not a built-in
        paths += [Path(p) for p in plan.data.spec.split(",")]
    return paths


def check_trust(recipe: Recipe, trust_code: bool) -> None:
    """A recipe (or a copied run's recipe.json) naming a `teacher.factory` runs that code: only with consent."""
    teacher = recipe.plan.teacher
    if teacher is not None and teacher.factory is not None and not trust_code:
        raise RecipeError(
            recipe.source,
            "teacher.factory",
            f"runs the Python code of {teacher.factory!r} to build the teacher; read it, then pass --trust-code",
        )


def _run_steps(recipe: Recipe, dataset, out: Path, teacher_run: Path | None, log, trust_code: bool) -> dict:
    plan = recipe.plan
    start = time.perf_counter()
    (out / TEXT_COPY).write_text(recipe.text)
    trusted = {"trusted_code": True} if trust_code and plan.teacher and plan.teacher.factory else {}
    write_json(out / RECORD, {**recipe.record(), "resolved": plan.raw, "teacher_run": teacher_run, **trusted})
    log(f"data: {dataset.name}, {dataset.n_classes} classes, split seed {dataset.seed}, {dataset.describe()['sizes']}")

    session = _Session(recipe, dataset, out, log)
    if teacher_run is not None:
        session.use_teacher_run(Path(teacher_run))
    elif plan.teacher is not None and plan.teacher.path is not None:
        session.use_teacher_file()
    elif plan.teacher is not None:
        session.use_teacher_run(train_teacher(recipe, out / TEACHER, dataset, log).path)
    for student in plan.students:
        session.runs[student.name] = session.distill(student)
    for ens in plan.ensembles:
        session.runs[ens.name] = session.ensemble(ens)

    result = bench_recipe(recipe, session, log)
    write_json(out / BENCH, result)
    write_json(
        out / DONE, {"finished": now(), "seconds": round(time.perf_counter() - start, 1), "digest": recipe.digest()}
    )
    return result


class _Session:
    """What a recipe run has made so far: runs by name (teacher, students, ensembles) and the recipe's teacher."""

    def __init__(self, recipe: Recipe, dataset, out: Path, log):
        self.recipe, self.dataset, self.out, self.log = recipe, dataset, out, log
        self.runs: dict[str, Run] = {}
        self.teacher = None  # the recipe's teacher, bound to the data
        self.teacher_model: Path | None = None  # a teacher ONNX file to bench (a teacher loaded from .onnx)

    def use_teacher_run(self, path: Path) -> None:
        run = Run.load(path)
        if not run.onnx_path.is_file():
            run = _export(run, self.recipe, self.log)
        self.runs[TEACHER] = run
        self.teacher = self._resolve(path)

    def _resolve(self, spec, factory: str | None = None):
        """The resolver `kdedge distill` uses. Shape now; the classes are checked per student by its method (as
        `kdedge distill` does), so fsp with alpha 0 can learn from a teacher of another task."""
        from ..jobs import resolve

        return resolve(spec, data=self.dataset, factory=factory, classes=False).teacher

    def use_teacher_file(self) -> None:
        """A teacher from the recipe's path: a run directory, or a file (TorchScript, ONNX, weights + factory)."""
        spec = self.recipe.plan.teacher
        if spec.path.is_dir():
            return self.use_teacher_run(spec.path)
        self.log(f"teacher: loading {spec.path}")
        self.teacher = self._resolve(spec.path, spec.factory)
        if spec.path.suffix == ".onnx":
            self.teacher_model = spec.path
        else:
            self.log(f"note: {spec.path.name} is not ONNX, so the bench table has no teacher row")

    def teacher_named(self, name: str):
        """The model called `name` as a teacher. An earlier student teaches as the end of its chain, so a manifest
        records teacher -> assistant -> student (checked by the same `chain_through` that `distill --via` uses)."""
        if name == TEACHER:
            return self.teacher
        student = next(s for s in self.recipe.plan.students if s.name == name)
        upstream = self.teachers_of(student)
        if upstream is None or student.generations:  # a born-again student teaches as its generations' ensemble
            return self._resolve(self.runs[name].path)
        from ..jobs import resolve

        return resolve(upstream, data=self.dataset, via=[self.runs[name].path], classes=False).teacher

    def teachers_of(self, student):
        from ..distillation.strategies import combine_teachers

        taught_by = [self.teacher_named(n) for n in student.teachers]
        return combine_teachers(taught_by) if taught_by else None

    def job(self, student, teacher):
        from ..jobs import Job

        plan = self.recipe.plan
        return Job(
            out=self.out / student.name, family=student.family, method=student.method, transfer=student.transfer,
            options=student.options, dataset=self.dataset, data_source=plan.data.spec, seed=plan.seed,
            teacher=teacher, overwrite=True,
        )  # fmt: skip

    def distill(self, student) -> Run:
        from ..jobs import execute

        teacher = self.teachers_of(student)
        if teacher is None and self.teacher is not None:
            teacher = self.teacher  # a hard-label student is still compared with the recipe's teacher
        self.log(f"{student.name}: {student.family} · {student.method.name} · transfer {student.transfer.name}")
        if student.generations:
            return self.born_again(student, teacher)
        run = execute(self.job(student, teacher))
        _record(run, self.recipe, student.name)
        _summary(run, self.log)
        return _export(run, self.recipe, self.log)

    def born_again(self, student, teacher) -> Run:
        """Generations NAME/gen1..N (benched as NAME/genK) and their ensemble, which is what NAME stands for."""
        from ..jobs.born_again import born_again

        made = born_again(self.job(student, teacher), student.generations, lambda line: self.log(f"  {line}"))
        for run in made["generations"]:
            _record(run, self.recipe, f"{student.name}/{run.name}")
            _summary(run, self.log)
            self.runs[f"{student.name}/{run.name}"] = _export(run, self.recipe, self.log)
        _record(made["ensemble"], self.recipe, student.name)
        _summary(made["ensemble"], self.log)
        return _export(made["ensemble"], self.recipe, self.log)

    def ensemble(self, ens) -> Run:
        from ..students.ensemble import build_ensemble

        self.log(f"{ens.name}: ensemble ({ens.vote}) of {', '.join(ens.members)}")
        members = [self.runs[m].path for m in ens.members]
        run = build_ensemble(members, ens.vote, self.out / ens.name, best=ens.best, overwrite=True)
        _record(run, self.recipe, ens.name)
        _summary(run, self.log)
        return _export(run, self.recipe, self.log)


def _summary(run: Run, log) -> None:
    m = run.metrics
    line = f"  test acc {m['test_accuracy']:.4f}"
    if "test_agreement_with_teacher" in m:
        line += f", agreement with teacher {m['test_agreement_with_teacher']:.4f}"
    log(line + f", {run.manifest.student.n_params} params")


def bench_recipe(recipe: Recipe, session: _Session, log) -> dict:
    from ..measure.runs import bench_runs

    b, profile = recipe.plan.bench, recipe.plan.profile
    threads, batches = b.threads or profile.intra_op_threads, b.batch or profile.batch_sizes
    models = [session.teacher_model] if session.teacher_model else []
    log(
        f"bench: {len(session.runs) + len(models)} models, threads {threads}, batch {batches}, "
        f"memory {'on' if b.memory else 'off'}"
    )
    return bench_runs(
        [r.path for r in session.runs.values()],
        models,
        names=list(session.runs),
        teacher=session.runs[TEACHER].path if TEACHER in session.runs else session.teacher_model,
        profile=profile,
        threads=threads,
        batches=batches,
        memory=b.memory,
        latency_options={"min_runs": b.min_runs, "min_seconds": b.min_seconds},
    )
