"""`kdedge teacher train` and `kdedge distill`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..defaults import TEACHER_TRAINING
from ._common import (
    BatchSize,
    Epochs,
    JsonFlag,
    Lr,
    Overwrite,
    Patience,
    Schedule,
    Seed,
    WarmupEpochs,
    WeightDecay,
    _given,
    _print_json,
    _summary,
    app,
    fails_cleanly,
    teacher_app,
)
from ._data import (
    Canvas,
    DataFormat,
    Header,
    ImageChannels,
    ImageSize,
    LabelColumn,
    PixelNoise,
    Samples,
    reader_options,
)


@teacher_app.command("train")
@fails_cleanly
def teacher_train(
    out: Annotated[Path, typer.Option(help="Run directory to create.")],
    data: Annotated[
        str, typer.Option(help="Built-in name (digits) or a path: .npz, .npy, .csv, image folder, CIFAR, MNIST IDX.")
    ] = "digits",
    data_format: DataFormat = None,
    label_column: LabelColumn = None,
    header: Header = None,
    image_size: ImageSize = None,
    image_channels: ImageChannels = None,
    samples: Samples = None,
    canvas: Canvas = None,
    pixel_noise: PixelNoise = None,
    arch: Annotated[str, typer.Option(help="Teacher architecture.")] = "cnn",
    channels: Annotated[str | None, typer.Option(help="CNN channels per block, e.g. 32,64,64.")] = None,
    depth: Annotated[int | None, typer.Option(help="ResNet depth 6n+2 (--arch resnet): 8, 14, 20...")] = None,
    width: Annotated[int | None, typer.Option(help="ResNet base channels (--arch resnet), e.g. 16.")] = None,
    epochs: Epochs = TEACHER_TRAINING["epochs"],
    patience: Patience = TEACHER_TRAINING["patience"],
    lr: Lr = None,
    batch_size: BatchSize = None,
    weight_decay: WeightDecay = None,
    schedule: Schedule = None,
    warmup_epochs: WarmupEpochs = None,
    seed: Seed = 0,
    overwrite: Overwrite = False,
    as_json: JsonFlag = False,
):
    """Train a built-in teacher (a small CNN: 2-D for images, 1-D for sequences) on labels."""
    from ..data import load_dataset
    from ..distill.methods import make_method
    from ..distill.run import fit_run

    reader_opts = reader_options(label_column, header, image_size, image_channels, samples, canvas, pixel_noise)
    dataset = load_dataset(data, seed=seed, fmt=data_format, **reader_opts)
    options = _given(
        channels=channels,
        depth=depth,
        width=width,
        epochs=epochs,
        patience=patience,
        lr=lr,
        batch_size=batch_size,
        weight_decay=weight_decay,
        schedule=schedule,
        warmup_epochs=warmup_epochs,
    )
    run = fit_run(
        out=out,
        kind="teacher",
        family=arch,
        options=options,
        method=make_method("hard"),
        dataset=dataset,
        data_source=data,
        seed=seed,
        overwrite=overwrite,
    )
    _summary(run, as_json)


_TRANSFER = "Transfer set"
_SCHEDULE = "Training schedule (neural students)"
_NONNEURAL = "Non-neural students (svm, forest, gbdt, tree)"


@app.command()
@fails_cleanly
def distill(
    out: Annotated[Path, typer.Option(help="Run directory to create.")],
    student: Annotated[str, typer.Option(help="Student family (see `kdedge students`).")] = "mlp",
    method: Annotated[str, typer.Option(help="Distillation method (see `kdedge methods`).")] = "kd",
    teacher: Annotated[
        list[str] | None,
        typer.Option(
            help="Teacher: a run directory, TorchScript .pt, .onnx, or weights (.safetensors/.pth) with --factory; "
            "repeat it to distill from their average."
        ),
    ] = None,
    factory: Annotated[
        str | None, typer.Option(help="For a weights teacher: package.module:build_fn or file.py:build_fn.")
    ] = None,
    via: Annotated[
        list[Path] | None,
        typer.Option(help="Assistant run(s) between teacher and student, in order; the last one teaches."),
    ] = None,
    generations: Annotated[
        int | None,
        typer.Option(help="Born-again: N students of the teacher's architecture in sequence, into OUT/gen1..N."),
    ] = None,
    data: Annotated[str | None, typer.Option(help="Data (default: the teacher's own data and split).")] = None,
    data_format: DataFormat = None,
    label_column: LabelColumn = None,
    header: Header = None,
    image_size: ImageSize = None,
    image_channels: ImageChannels = None,
    samples: Samples = None,
    canvas: Canvas = None,
    pixel_noise: PixelNoise = None,
    temperature: Annotated[float | None, typer.Option(help="Softmax temperature T (kd, softmax).")] = None,
    alpha: Annotated[float | None, typer.Option(help="Weight of the soft term in kd (1 - alpha on labels).")] = None,
    hidden: Annotated[str | None, typer.Option(help="MLP hidden sizes, e.g. 128 or 128,64.")] = None,
    channels: Annotated[str | None, typer.Option(help="CNN channels per block, e.g. 16,32,32.")] = None,
    depth: Annotated[int | None, typer.Option(help="ResNet depth 6n+2 (--student resnet): 8, 14, 20...")] = None,
    width: Annotated[int | None, typer.Option(help="ResNet base channels (--student resnet), e.g. 16.")] = None,
    hint_layer: Annotated[str | None, typer.Option(help="fitnets: teacher layer to regress (teacher layers).")] = None,
    guided_layer: Annotated[str | None, typer.Option(help="fitnets: student layer that regresses it.")] = None,
    regressor: Annotated[str | None, typer.Option(help="fitnets: auto, conv (1x1) or linear.")] = None,
    stage1_epochs: Annotated[int | None, typer.Option(help="fitnets/fsp: epochs of the feature stage.")] = None,
    fsp_pairs: Annotated[
        str | None, typer.Option(help="fsp: layer pairs 'stem:stage1,stage1:stage2' or 'T1:T2=S1:S2'.")
    ] = None,
    fsp_weights: Annotated[str | None, typer.Option(help="fsp: one loss weight per pair, e.g. 1,1,1.")] = None,
    fsp_shuffle: Annotated[int | None, typer.Option(help="fsp: permute the teacher's channels with this seed.")] = None,
    epochs: Annotated[int | None, typer.Option(help=Epochs.__metadata__[0].help, rich_help_panel=_SCHEDULE)] = None,
    patience: Annotated[int | None, typer.Option(help=Patience.__metadata__[0].help, rich_help_panel=_SCHEDULE)] = None,
    lr: Annotated[float | None, typer.Option(help=Lr.__metadata__[0].help, rich_help_panel=_SCHEDULE)] = None,
    batch_size: Annotated[
        int | None, typer.Option(help=BatchSize.__metadata__[0].help, rich_help_panel=_SCHEDULE)
    ] = None,
    weight_decay: Annotated[
        float | None, typer.Option(help=WeightDecay.__metadata__[0].help, rich_help_panel=_SCHEDULE)
    ] = None,
    schedule: Annotated[str | None, typer.Option(help=Schedule.__metadata__[0].help, rich_help_panel=_SCHEDULE)] = None,
    warmup_epochs: Annotated[
        int | None, typer.Option(help=WarmupEpochs.__metadata__[0].help, rich_help_panel=_SCHEDULE)
    ] = None,
    select_by: Annotated[
        str | None,
        typer.Option(
            help="Keep the epoch best on val accuracy (default) or val agreement with the teacher.",
            rich_help_panel=_SCHEDULE,
        ),
    ] = None,
    transfer: Annotated[
        str,
        typer.Option(
            help="train, augment, munge, pool, or view ops shift, mixup, noise combined with + (shift+mixup).",
            rich_help_panel=_TRANSFER,
        ),
    ] = "train",
    teacher_mode: Annotated[
        str | None,
        typer.Option(
            help="Views: cached (a fixed set of --transfer-size, labelled once) or online (new views every batch, "
            "the teacher labels each; neural students).",
            rich_help_panel=_TRANSFER,
        ),
    ] = None,
    max_shift: Annotated[
        int | None,
        typer.Option(help="shift: largest shift in pixels/steps (default 1/5 of the axis).", rich_help_panel=_TRANSFER),
    ] = None,
    mixup_alpha: Annotated[
        float | None, typer.Option(help="mixup: lambda ~ Beta(alpha, alpha) (default 1).", rich_help_panel=_TRANSFER)
    ] = None,
    noise_std: Annotated[
        float | None,
        typer.Option(help="noise: std as a fraction of each channel's (default 0.1).", rich_help_panel=_TRANSFER),
    ] = None,
    transfer_size: Annotated[
        str | None,
        typer.Option(help="Multiple of the train split, e.g. 5x (augment/munge: 5x).", rich_help_panel=_TRANSFER),
    ] = None,
    munge_p: Annotated[
        float | None, typer.Option(help="MUNGE swap probability (0.5).", rich_help_panel=_TRANSFER)
    ] = None,
    munge_s: Annotated[
        float | None, typer.Option(help="MUNGE local spread divisor (1).", rich_help_panel=_TRANSFER)
    ] = None,
    pool: Annotated[
        Path | None, typer.Option(help="Unlabeled inputs: .npz with array x.", rich_help_panel=_TRANSFER)
    ] = None,
    kernel: Annotated[str | None, typer.Option(help="svm: rbf, poly or linear.", rich_help_panel=_NONNEURAL)] = None,
    c: Annotated[
        float | None, typer.Option("--C", "--c", help="svm: regularization C > 0.", rich_help_panel=_NONNEURAL)
    ] = None,
    gamma: Annotated[str | None, typer.Option(help="svm: scale, auto or a number.", rich_help_panel=_NONNEURAL)] = None,
    degree: Annotated[int | None, typer.Option(help="svm: poly kernel degree.", rich_help_panel=_NONNEURAL)] = None,
    approx: Annotated[
        str | None, typer.Option(help="svm: none, or nystroem for large transfer sets.", rich_help_panel=_NONNEURAL)
    ] = None,
    n_components: Annotated[
        int | None, typer.Option(help="svm --approx nystroem: kernel features (500).", rich_help_panel=_NONNEURAL)
    ] = None,
    n_estimators: Annotated[
        int | None, typer.Option(help="forest, gbdt: trees (per class).", rich_help_panel=_NONNEURAL)
    ] = None,
    max_depth: Annotated[
        int | None, typer.Option(help="forest, tree: depth (default unlimited).", rich_help_panel=_NONNEURAL)
    ] = None,
    num_leaves: Annotated[int | None, typer.Option(help="gbdt: leaves per tree.", rich_help_panel=_NONNEURAL)] = None,
    learning_rate: Annotated[float | None, typer.Option(help="gbdt: shrinkage.", rich_help_panel=_NONNEURAL)] = None,
    seed: Seed = 0,
    overwrite: Overwrite = False,
    as_json: JsonFlag = False,
):
    """Train a student from a teacher's outputs (or, with --method hard, from labels alone)."""
    from ..data import load_dataset
    from ..distill import strategies
    from ..distill.methods import make_method
    from ..distill.run import check_teacher_fits, fit_run
    from ..distill.transfer import check_method_fits, check_online_fits, make_transfer
    from ..errors import OptionError
    from ..teachers import load_teacher

    method_options = _given(
        temperature=temperature,
        alpha=alpha,
        hint_layer=hint_layer,
        guided_layer=guided_layer,
        regressor=regressor,
        stage1_epochs=stage1_epochs,
        fsp_pairs=fsp_pairs,
        fsp_weights=fsp_weights,
        fsp_shuffle=fsp_shuffle,
    )
    chosen = make_method(method, **method_options)
    from ..students import check_method, make_params, student_class

    options = _given(
        hidden=hidden,
        channels=channels,
        depth=depth,
        width=width,
        epochs=epochs,
        patience=patience,
        lr=lr,
        batch_size=batch_size,
        weight_decay=weight_decay,
        schedule=schedule,
        warmup_epochs=warmup_epochs,
        select_by=select_by,
    )
    # Teachers from files know no data set: load the data first and check every teacher against it.
    loaded = [load_teacher(t, factory=factory) for t in teacher or []]
    if data is None:
        if not loaded:
            raise OptionError("--method hard without a teacher needs --data (e.g. --data digits)")
        if getattr(loaded[0], "run", None) is None:
            raise OptionError(f"--teacher {teacher[0]} does not say what data it was trained on; pass --data")
        dataset = loaded[0].run.dataset()
        data = loaded[0].run.manifest["data"]["source"]
    else:
        reader_opts = reader_options(label_column, header, image_size, image_channels, samples, canvas, pixel_noise)
        dataset = load_dataset(data, seed=seed, fmt=data_format, **reader_opts)
    for t in loaded:
        t.bind(dataset, classes=False)  # input shape and a 2-sample forward pass, before any training
        # The classes only if the method reads the teacher's outputs (fsp --alpha 0 learns from another task's)
        check_teacher_fits(t, dataset, chosen)
    teacher_obj = None
    if loaded:
        teacher_obj = strategies.chain_through(strategies.combine_teachers(loaded), via or [])
    elif via:
        raise OptionError("--via needs --teacher: the chain starts at the teacher")
    if generations is not None:
        if teacher_obj is None:
            raise OptionError("--generations needs --teacher RUN: each generation has the teacher's architecture")
        student = getattr(teacher_obj, "run", None) and teacher_obj.run.family or student
    options.update(
        _given(
            kernel=kernel,
            C=c,
            gamma=gamma,
            degree=degree,
            approx=approx,
            n_components=n_components,
            n_estimators=n_estimators,
            max_depth=max_depth,
            num_leaves=num_leaves,
            learning_rate=learning_rate,
        )
    )
    make_params(student, options)
    check_method(student, chosen.name)
    transfer_set = make_transfer(
        transfer,
        **_given(
            transfer_size=transfer_size,
            munge_p=munge_p,
            munge_s=munge_s,
            pool=pool,
            teacher_mode=teacher_mode,
            max_shift=max_shift,
            mixup_alpha=mixup_alpha,
            noise_std=noise_std,
        ),
    )
    check_method_fits(transfer_set, chosen)
    check_online_fits(transfer_set, chosen, student_class(student).neural)
    if generations is not None:
        _born_again(
            teacher_obj, generations, chosen, dataset, data, seed, out, options, overwrite, as_json, transfer_set
        )
        return
    run = fit_run(
        out=out,
        kind="student",
        family=student,
        options=options,
        method=chosen,
        dataset=dataset,
        data_source=data,
        seed=seed,
        teacher=teacher_obj,
        overwrite=overwrite,
        transfer=transfer_set,
    )
    _summary(run, as_json)


def _born_again(
    teacher, generations, method, dataset, data_source, seed, out, options, overwrite, as_json, transfer
) -> None:
    from ..distill.strategies import born_again

    def say(line: str) -> None:
        if not as_json:
            typer.echo(line, err=True)

    result = born_again(
        teacher=teacher,
        generations=generations,
        method=method,
        dataset=dataset,
        data_source=data_source,
        seed=seed,
        out=out,
        options=options,
        overwrite=overwrite,
        progress=say,
        transfer=transfer,  # every generation learns from the same transfer set
    )
    rows = [*result["generations"], result["ensemble"]]
    if as_json:
        _print_json({r.name: {"run": str(r.path), **r.manifest["metrics"]} for r in rows})
        return
    for r in rows:
        m = r.manifest["metrics"]
        typer.echo(f"{r.path}: val acc {m['val_accuracy']:.4f}, test acc {m['test_accuracy']:.4f}")
