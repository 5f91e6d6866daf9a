"""Born-again generations (Furlanello et al.), as a sequence of ordinary jobs and their ensemble."""

from __future__ import annotations

from pathlib import Path

from ..errors import OptionError
from ..runs import MANIFEST
from .job import Job, execute, finished_run


def born_again(job: Job, generations: int, progress=None) -> dict:
    """`generations` students with the teacher's own architecture, each taught by the previous one (the first by
    `job.teacher`), written to OUT/gen1..genN, and their mean-vote ensemble to OUT/ensemble. `job.options` are laid
    over the teacher's own architecture and training settings; its family is the teacher's.

    Resumable: a generation whose run already exists with the same teacher, method, options and seed is reused,
    so an interrupted sequence continues where it stopped. Generation k trains with seed + k.
    """
    from ..students import make_params
    from ..students.ensemble import build_ensemble
    from ..teachers import RunTeacher

    if generations < 1:
        raise OptionError(f"--generations {generations}: give 1 or more")
    teacher_run = getattr(job.teacher, "run", None)
    if teacher_run is None or not (teacher_run.path / MANIFEST).is_file():
        raise OptionError("--generations needs a kdedge run as --teacher (its architecture is what is reborn)")
    family = teacher_run.family
    params = make_params(family, {**teacher_run.manifest.student.params, **job.options}).model_dump(mode="json")
    out = Path(job.out)
    runs, current = [], job.teacher
    for g in range(1, generations + 1):
        generation = job.but(out=out / f"gen{g}", family=family, options=params, seed=job.seed + g, teacher=current)
        run = finished_run(generation)
        if run is None:
            if progress:
                progress(f"generation {g}/{generations}: {family} taught by {current.name}")
            run = execute(generation)
        elif progress:
            progress(f"generation {g}/{generations}: reusing {generation.out}")
        runs.append(run)
        current = RunTeacher(run)
    ensemble = build_ensemble(runs, "mean", out / "ensemble", overwrite=True)
    return {"generations": runs, "ensemble": ensemble}
