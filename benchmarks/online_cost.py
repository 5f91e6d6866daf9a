"""What an epoch with an online teacher costs against a hard-label epoch, side by side in one process.

The demo's teacher (the built-in CNN, 32-64-64 channels) on digits; students MLP-128 (the demo's) and the CNN itself
(a born-again student, as large as its teacher). Per student, epochs of: hard labels on the training split; KD on
cached teacher targets; hard labels on online shift views (the augmentation alone); KD with the teacher online on
shift+mixup views, the teacher in torch eager and in onnxruntime. Each configuration trains --epochs epochs; the
configurations are interleaved and repeated --repeats times; ratios to the hard epoch of the same repeat are given as
median (min–max). One torch thread.

    KDEDGE_QUIET=1 .venv/bin/python benchmarks/online_cost.py --out benchmarks/results/online_cost.md
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("KDEDGE_QUIET", "1")

from _report import emit

STUDENTS = {"mlp-128": ("mlp", {"hidden": (128,)}), "cnn 32-64-64": ("cnn", {"channels": (32, 64, 64)})}


def epoch_seconds(family, options, method, batches_for, dataset, epochs, seed=0) -> float:
    from kdedge.distillation.loop import Batches, TrainConfig, train
    from kdedge.students import make_params, student_class

    params = make_params(family, {**options, "epochs": epochs, "patience": epochs})
    student = student_class(family)(params, dataset.sample_shape, dataset.n_classes, dataset.normalization)
    x_val, y_val = dataset.split("val")
    train_data, t_val = batches_for()
    config = TrainConfig(epochs=epochs, patience=epochs)
    info = train(student.module, method.loss, train_data, Batches(x_val, y_val, t_val), config, seed)
    return info["train_seconds"] / epochs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--cached-only", action="store_true", help="only MLP-128: hard labels vs KD on cached targets")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from kdedge.convert import export_run
    from kdedge.data import load_dataset
    from kdedge.distillation.loop import Batches
    from kdedge.distillation.methods import make_method
    from kdedge.distillation.online import OnlineViews
    from kdedge.distillation.transfer import make_transfer
    from kdedge.jobs import Job, execute, resolve

    dataset = load_dataset("digits", seed=0)
    x_train, y_train = dataset.split("train")
    x_val, _ = dataset.split("val")
    with tempfile.TemporaryDirectory() as tmp:
        run = execute(Job(out=Path(tmp) / "teacher", kind="teacher", family="cnn", options={"epochs": 20},
                      method=make_method("hard"), dataset=dataset, data_source="digits", seed=0))  # fmt: skip
        export_run(run.path)
        torch_teacher, ort_teacher = (resolve(run.path, data=dataset).teacher for _ in range(2))
        ort_teacher.use_onnxruntime(rows=0)  # the exported model.onnx
        t_train, t_val = torch_teacher.logits(x_train), torch_teacher.logits(x_val)
        hard, kd = make_method("hard"), make_method("kd", temperature=1.0, alpha=1.0)
        shift, views = (
            make_transfer("shift", teacher_mode="online"),
            make_transfer("shift+mixup", teacher_mode="online"),
        )
        configs = {
            "hard labels, train split": (hard, lambda: (Batches(x_train, y_train), None)),
            "kd, cached targets": (kd, lambda: (Batches(x_train, y_train, t_train), t_val)),
            "hard labels, online shift views": (hard, lambda: (OnlineViews(x_train, y_train, shift, None, 0), None)),
            "kd online shift+mixup, torch teacher": (
                kd, lambda: (OnlineViews(x_train, y_train, views, torch_teacher, 0), t_val)),
            "kd online shift+mixup, onnxruntime teacher": (
                kd, lambda: (OnlineViews(x_train, y_train, views, ort_teacher, 0), t_val)),
        }  # fmt: skip
        students = STUDENTS
        if args.cached_only:
            configs = {name: configs[name] for name in ("hard labels, train split", "kd, cached targets")}
            students = {"mlp-128": STUDENTS["mlp-128"]}
        seconds = {(s, c): [] for s in students for c in configs}
        for _ in range(args.repeats):
            for student, (family, options) in students.items():
                for name, (method, batches_for) in configs.items():
                    seconds[(student, name)].append(
                        epoch_seconds(family, options, method, batches_for, dataset, args.epochs)
                    )
    lines = [
        "# Online teaching: cost of an epoch against a hard-label epoch",
        "",
        f"digits train split ({len(x_train)} samples), batch 64, teacher = the demo's CNN (32-64-64, 56,714 params); "
        f"{args.epochs} epochs per measurement, {args.repeats} repeats interleaved; one torch thread; "
        f"{platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end. "
        "Ratio: to the hard-label epoch of the same student in the same repeat, median (min–max).",
        "",
        "| student | epoch of | ms / epoch (median) | × hard-label epoch |",
        "| --- | --- | --- | --- |",
    ]
    for student in students:
        base = np.asarray(seconds[(student, "hard labels, train split")])
        for name in configs:
            ratio = np.asarray(seconds[(student, name)]) / base
            lines.append(
                f"| {student} | {name} | {1000 * np.median(seconds[(student, name)]):.0f} | "
                f"{np.median(ratio):.2f} ({ratio.min():.2f}–{ratio.max():.2f}) |"
            )
    emit("\n".join(lines) + "\n", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
