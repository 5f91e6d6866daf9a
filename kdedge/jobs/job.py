"""A `Job` is everything one training needs, typed and checked; `execute` runs it. It is the only caller of
`fit_run`, so the CLI, the API, recipes, search trials and benchmarks train in exactly one way."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..data import Dataset
from ..runs import Run


@dataclass(frozen=True)
class Job:
    """One training: a `family` student (or a built-in teacher, `kind="teacher"`) with its `options` (the
    family's own, as the run records them), taught by `teacher` (bound to `dataset`, or None) through `method` on a
    `transfer` set, seeded by `seed`, written to `out`. Build it with `Job.of`, which routes flat options."""

    out: Path
    family: str
    method: object  # kdedge.distillation.methods.Method
    options: dict
    dataset: Dataset
    data_source: str
    transfer: object | None = None  # kdedge.distillation.transfer.TransferSet; None: the training split
    seed: int = 0
    teacher: object | None = None
    kind: str = "student"
    overwrite: bool = False
    defaults: dict | None = None  # what kdedge chose for options the user left out (recorded in the run)

    @classmethod
    def of(
        cls,
        *,
        out,
        family: str,
        dataset: Dataset,
        data_source: str,
        method: str = "kd",
        transfer: str = "train",
        options: dict | None = None,
        **fields,
    ) -> Job:
        """A job from flat options (`hidden=64, temperature=2, transfer_size="5x"`), routed by `kdedge.options.route`
        to the family, the method and the transfer set exactly as the CLI's flags are."""
        from ..options import route

        routed = route(family, method, transfer, options)
        return cls(
            out=Path(out),
            family=family,
            method=routed.method,
            transfer=routed.transfer,
            options=routed.family_options,
            dataset=dataset,
            data_source=data_source,
            **fields,
        )

    def but(self, **changes) -> Job:
        """The same job with some fields changed (another folder, seed, teacher...)."""
        return replace(self, **changes)


def execute(job: Job) -> Run | None:
    """Train `job` and write its run directory (None in a DDP process other than rank 0, which writes nothing)."""
    from ..distillation.run import fit_run

    return fit_run(
        out=job.out,
        kind=job.kind,
        family=job.family,
        options=job.options,
        method=job.method,
        dataset=job.dataset,
        data_source=job.data_source,
        seed=job.seed,
        teacher=job.teacher,
        overwrite=job.overwrite,
        transfer=job.transfer,
        defaults=job.defaults,
    )


def teacher_job(dataset: Dataset, data_source: str, *, out, arch=None, augment=None, options=None, **fields):
    """(the job that trains a built-in teacher on `dataset`'s labels, its plan). What is left out comes from the
    data (`kdedge.defaults.TEACHER_RECIPES`); `plan.line()` says what was chosen, and the run records it."""
    from ..teachers.recipe import plan_teacher

    plan = plan_teacher(arch, dataset, augment, dict(options or {}))
    job = Job.of(
        out=out, kind="teacher", family=plan.arch, method="hard", transfer=plan.transfer, options=plan.options,
        dataset=dataset, data_source=data_source, defaults=plan.record, **fields,
    )  # fmt: skip
    return job, plan


def finished_run(job: Job) -> Run | None:
    """The run `job` already wrote (same transfer set, teacher, method, options and seed), so an interrupted sequence
    of jobs continues where it stopped; None when there is none."""
    import json

    from ..runs import MANIFEST

    if not (job.out / MANIFEST).is_file():
        return None
    run = Run.load(job.out)
    m = run.manifest
    transfer = job.transfer
    wanted = {"kind": "train"} if transfer is None else {"kind": transfer.name, **transfer.model_dump(mode="json")}
    recorded = m.transfer or {}
    teacher_print = None if job.teacher is None else job.teacher.fingerprint
    from ..students import make_params

    params = make_params(job.family, job.options).model_dump(mode="json")
    same = (
        all(recorded.get(k) == v for k, v in wanted.items() if v is not None)
        and (m.teacher or {}).get("fingerprint") == teacher_print
        and m.method == json.loads(json.dumps(job.method.describe()))  # as it reads back (tuples become lists)
        and m.seed == job.seed
        and m.student.params == params
        and m.data.fingerprint == job.dataset.fingerprint
    )
    return run if same else None
