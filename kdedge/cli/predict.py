"""`kdedge predict`: numpy + onnxruntime only, so it runs on a board."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import JsonFlag, OverwriteFile, _print_json, app, fails_cleanly


@app.command()
@fails_cleanly
def predict(
    model: Annotated[Path, typer.Argument(help="An ONNX model (RUN/model.onnx or model.int8.onnx).")],
    inputs: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="Raw samples: .npy, .npz (array x) or .csv (one flattened sample per line, optional header); or an "
            "image, or a folder of images (decoded and resized to the model's channels and size, as in training).",
        ),
    ],
    out: Annotated[Path | None, typer.Option(help="Write predictions as CSV here (default: CSV on stdout).")] = None,
    threads: Annotated[int, typer.Option(help="onnxruntime intra-op threads.")] = 1,
    proba: Annotated[
        bool, typer.Option("--proba", help="Class probabilities (softmax of the logits) instead of raw scores.")
    ] = False,
    overwrite: OverwriteFile = False,
    as_json: JsonFlag = False,
):
    """Labels, class names and scores (or --proba probabilities) for each sample. Inputs are raw: the graph applies
    its own normalization; images are decoded and resized to the model's input as the image reader does."""
    from .. import predict as lib
    from .._io import atomic_path
    from ..measure.latency import check_timing
    from ..outputs import check_out_file, claiming

    check_timing((threads,))
    with claiming(out):  # one writer per output file, from the check to the write
        if out is not None:
            check_out_file(out, overwrite, "predictions-csv")
        info = lib.model_info(model)
        x, files = lib.read_inputs_named(inputs, info)
        scores, labels = lib.predict(info, x, threads)
        names = lib.class_names(info, scores.shape[1])
        probs = lib.probabilities(info, scores) if proba else None
        shown, prefix = (probs, "proba") if proba else (scores, "score")
        text = lib.to_csv(shown, labels, names, files, prefix)
        if out is not None:
            with atomic_path(out) as tmp:
                tmp.write_text(text)
    if as_json:
        _print_json(lib.to_json(info, scores, labels, names, files, probs))
    elif out is None:
        typer.echo(text, nl=False)
    else:
        typer.echo(f"{out}: {len(labels)} predictions from {model}")
