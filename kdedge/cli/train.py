"""`kdedge teacher train` and `kdedge distill`: thin shells over `kdedge.train_teacher` and `kdedge.distillation`.

Student, method and transfer-set options are not written here: they are generated from the registries' fields
(`kdedge.options.catalog`), so every field of every family, method, transfer kind and view op is a flag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    CacheDir,
    Device,
    JsonFlag,
    Nnodes,
    Nproc,
    Overwrite,
    RdzvEndpoint,
    Scheduler,
    Seed,
    TrainThreads,
    _print_json,
    _summary,
    app,
    fails_cleanly,
    teacher_app,
)
from ._data import DataFormat, split_reader_options, with_reader_options
from ._distill_options import (
    Baseline,
    DistillOut,
    DistillSeed,
    Factory,
    Generations,
    MethodName,
    StudentFamily,
    TargetsBackend,
    TeacherData,
    Teachers,
    TransferKind,
    Via,
)
from ._generated import with_registry_options

NEURAL_FAMILIES = ("mlp", "cnn", "resnet")  # what `teacher train --arch` builds


def teacher_train(
    out: Annotated[Path, typer.Option(help="Run directory to create.")],
    data: Annotated[
        str, typer.Option(help="Built-in name (digits, digits-shift) or a path: .npz, .npy, .csv, images, CIFAR, IDX.")
    ] = "digits",
    data_format: DataFormat = None,
    arch: Annotated[
        str | None,
        typer.Option(
            help="Teacher architecture: cnn, resnet or mlp. Default: from the data's layout (a 2-D CNN for images, a "
            "1-D CNN for sequences, an MLP for vectors)."
        ),
    ] = None,
    seed: Seed = 0,
    overwrite: Overwrite = False,
    threads: TrainThreads = None,
    device: Device = None,
    augment: Annotated[
        str | None,
        typer.Option(
            help="Training-time augmentation: shift (random shifts, new every batch) or none. Default: shift for "
            "10,000+ training images, none for smaller sets and other layouts; never flips (they break digits, text)."
        ),
    ] = None,
    as_json: JsonFlag = False,
    **options,
):
    """Train a built-in teacher on labels. What you leave out comes from the data and is printed: the layout picks
    the net (a 2-D CNN for images, 1-D for sequences, an MLP for vectors), the size its schedule (10,000+ training
    images: a wider CNN, AdamW + cosine, label smoothing, random shifts); --arch, --epochs, --augment... to choose."""
    from ..api import load_data, train_teacher

    read, options = split_reader_options(options)
    dataset = load_data(data, seed=seed, format=data_format, **read)
    say = None if as_json else (lambda line: typer.echo(line, err=True))
    run = train_teacher(
        dataset,
        out=out,
        arch=arch,
        seed=seed,
        overwrite=overwrite,
        threads=threads,
        device=device,
        augment=augment,
        say=say,
        **options,
    )
    _summary(run, as_json)


TEACHER_EXTRA_OPTIONS = ("label_smoothing", "max_shift")  # the hard loss's smoothing, the shift augmentation's size


def _neural_family_option(spec) -> bool:
    owned = any(owner in {f"--student {f}" for f in NEURAL_FAMILIES} for owner in spec.owners)
    return owned or spec.name in TEACHER_EXTRA_OPTIONS


teacher_app.command("train")(
    fails_cleanly(with_registry_options(with_reader_options(teacher_train), keep=_neural_family_option))
)


def distill(
    out: DistillOut,
    student: StudentFamily = "mlp",
    method: MethodName = None,
    teacher: Teachers = None,
    factory: Factory = None,
    via: Via = None,
    generations: Generations = None,
    data: TeacherData = None,
    data_format: DataFormat = None,
    transfer: TransferKind = None,
    baseline: Baseline = None,
    seed: DistillSeed = 0,
    overwrite: Overwrite = False,
    threads: TrainThreads = None,
    device: Device = None,
    nproc: Nproc = 1,
    nnodes: Nnodes = 1,
    rdzv_endpoint: RdzvEndpoint = None,
    backend: TargetsBackend = "local",
    scheduler: Scheduler = None,
    cache_dir: CacheDir = None,
    as_json: JsonFlag = False,
    **options,
):
    """Train a student from a teacher's outputs (or, with --method hard, from labels alone)."""
    from ..api import distill as run_distill
    from ..progress import hold
    from ..target_cache import set_cache_dir

    set_cache_dir(cache_dir)
    read, options = split_reader_options(options)

    def say(line: str) -> None:
        if not as_json:
            hold(line)  # said once the training is accepted: an error stays the only line

    result = run_distill(
        teacher or None, data, out=out, student=student, method=method, transfer=transfer, seed=seed,
        overwrite=overwrite, factory=factory, via=via or (), generations=generations, data_format=data_format,
        reader_options=read, progress=say if generations is not None else None, threads=threads, device=device,
        nproc=nproc, nnodes=nnodes, rdzv_endpoint=rdzv_endpoint, backend=backend, scheduler=scheduler,
        baseline=baseline, say=say, **options,
    )  # fmt: skip
    if result is None:  # a machine of --nnodes whose processes did not include rank 0
        say(f"this machine's {nproc} process(es) finished; rank 0, on another machine, wrote {out}")
        return
    if generations is None:
        _summary(result, as_json)
        return
    _generations_summary(result, as_json)


def _generations_summary(result: dict, as_json: bool) -> None:
    rows = [*result["generations"], result["ensemble"]]
    if as_json:
        _print_json({r.name: {"run": str(r.path), **r.metrics} for r in rows})
        return
    for r in rows:
        typer.echo(f"{r.path}: val acc {r.metrics['val_accuracy']:.4f}, test acc {r.metrics['test_accuracy']:.4f}")


app.command()(fails_cleanly(with_registry_options(with_reader_options(distill))))
