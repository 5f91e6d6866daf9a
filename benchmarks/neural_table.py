"""Neural students and feature methods on digits, several seeds: one Markdown table (mean ± std).

    .venv/bin/python benchmarks/neural_table.py --seeds 0 1 2 --out benchmarks/results/neural_table.md

Per seed (the seed fixes the data split, the initial weights and the batch order), through the library API the
CLI uses (kdedge.jobs: Job, execute, born_again; build_ensemble, export_run, bench):
- a ResNet-14 teacher (width 16) and, as a second teacher, the built-in CNN;
- ResNet-8 students (width 16, Yim et al.'s shallow net): hard labels, KD, FitNets (hint stage2 -> stage2), FSP
  (stage boundaries, stage 2 on labels);
- FSP ensembles of 3: plain (3 init seeds) vs shuffled teacher channels (--fsp-shuffle 0/1/2, same init seeds);
- born-again: 2 generations of the teacher's own architecture (KD) and their mean-vote ensemble;
- MLP-32 students (KD): from the teacher directly, via the KD ResNet-8 as assistant, from the average of the two
  teachers; the same MLP at T = 1, 2, 4, 8 and the ensemble of the 3 best on validation vs the best member.
Latency: batch 1, one onnxruntime thread, p50 over >= 50 runs; size of model.onnx; agreement with the ResNet
teacher on the test split.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import emit

os.environ.setdefault("KDEDGE_QUIET", "1")

TEACHER = {"depth": 14, "width": 16, "epochs": 60, "patience": 20}
RESNET8 = {"depth": 8, "width": 16, "epochs": 40, "patience": 10}
MLP = {"hidden": 32, "epochs": 150, "patience": 30}
STAGE1_EPOCHS = 20
TEMPERATURES = (1.0, 2.0, 4.0, 8.0)

# (key, label); keys ending in ":members" are the mean of the members' own accuracies (no ONNX of their own)
ROWS = [
    ("teacher", "ResNet-14 teacher"),
    ("cnn-teacher", "CNN teacher (second teacher)"),
    ("r8-hard", "ResNet-8, hard labels"),
    ("r8-kd", "ResNet-8, KD T=4 α=0.9"),
    ("r8-fitnets", "ResNet-8, FitNets (hint stage2, then KD)"),
    ("r8-fsp", "ResNet-8, FSP (then labels)"),
    ("fsp-plain:members", "  FSP students, each (3 init seeds)"),
    ("fsp-plain", "ensemble of 3 FSP students"),
    ("fsp-shuffled:members", "  shuffled-FSP students, each"),
    ("fsp-shuffled", "ensemble of 3 shuffled-FSP students"),
    ("ban/gen1", "born-again gen 1 (ResNet-14, KD)"),
    ("ban/gen2", "born-again gen 2"),
    ("ban/ensemble", "born-again ensemble (gen 1+2)"),
    ("mlp-direct", "MLP-32 from the teacher (KD T=4)"),
    ("mlp-via", "MLP-32 via ResNet-8 KD assistant"),
    ("mlp-avg", "MLP-32 from the average of both teachers"),
    ("mlp-temps:best", "MLP-32, best of T=1,2,4,8 on val"),
    ("mlp-temps", "ensemble of the 3 best of T=1,2,4,8"),
]


def one_seed(root: Path, seed: int) -> dict:
    import torch

    from kdedge.convert import export_run
    from kdedge.data import load_dataset
    from kdedge.distillation.methods import make_method
    from kdedge.distillation.strategies import AveragedTeacher, chain_through
    from kdedge.jobs import Job, execute, resolve
    from kdedge.jobs.born_again import born_again
    from kdedge.measure import Entry, bench
    from kdedge.students.ensemble import build_ensemble

    torch.set_num_threads(1)  # small nets: one thread is faster than two on a busy machine
    dataset = load_dataset("digits", seed=seed)
    runs: dict = {}

    def fit(name, family, options, method, teacher=None, run_seed=seed, kind="student"):
        runs[name] = execute(Job(
            out=root / name, kind=kind, family=family, options=options, method=method, dataset=dataset,
            data_source="digits", seed=run_seed, teacher=teacher,
        ))  # fmt: skip
        return runs[name]

    hard, kd4 = make_method("hard"), make_method("kd", temperature=4.0, alpha=0.9)
    teacher = resolve(fit("teacher", "resnet", TEACHER, hard, kind="teacher").path, data=dataset).teacher
    fit("cnn-teacher", "cnn", {"epochs": 40, "patience": 10}, hard, kind="teacher")

    fit("r8-hard", "resnet", RESNET8, hard)
    fit("r8-kd", "resnet", RESNET8, kd4, teacher)
    fitnets = make_method("fitnets", hint_layer="stage2", guided_layer="stage2", stage1_epochs=STAGE1_EPOCHS)
    fit("r8-fitnets", "resnet", RESNET8, fitnets, teacher)
    fsp = make_method("fsp", stage1_epochs=STAGE1_EPOCHS)
    fit("r8-fsp", "resnet", RESNET8, fsp, teacher)
    plain = [runs["r8-fsp"]] + [fit(f"fsp-{k}", "resnet", RESNET8, fsp, teacher, seed + k) for k in (1, 2)]
    shuffled = [
        fit(f"fsp-shuffled-{k}", "resnet", RESNET8, fsp.model_copy(update={"fsp_shuffle": k}), teacher, seed + k)
        for k in (0, 1, 2)
    ]
    members = {"fsp-plain": plain, "fsp-shuffled": shuffled}
    for name, group in members.items():
        runs[name] = build_ensemble(group, "mean", root / name)

    ban_job = Job(
        out=root / "ban", family="resnet", method=kd4, dataset=dataset, data_source="digits", seed=seed,
        teacher=teacher, options={"epochs": TEACHER["epochs"], "patience": TEACHER["patience"]},
    )  # fmt: skip
    ban = born_again(ban_job, generations=2)
    runs["ban/gen1"], runs["ban/gen2"] = ban["generations"]
    runs["ban/ensemble"] = ban["ensemble"]

    fit("mlp-direct", "mlp", MLP, kd4, teacher)
    fit("mlp-via", "mlp", MLP, kd4, chain_through(teacher, [runs["r8-kd"].path]))
    fit("mlp-avg", "mlp", MLP, kd4, AveragedTeacher([teacher, resolve(runs["cnn-teacher"].path, data=dataset).teacher]))
    temps = [
        runs["mlp-direct"] if t == 4.0 else fit(f"mlp-T{t:g}", "mlp", MLP, make_method("kd", temperature=t), teacher)
        for t in TEMPERATURES
    ]
    runs["mlp-temps"] = build_ensemble(temps, "mean", root / "mlp-temps", best=3)
    runs["mlp-temps:best"] = max(temps, key=lambda r: r.manifest.metrics["val_accuracy"])  # first on ties

    shown = {key: runs[key] for key, _ in ROWS if ":members" not in key}
    for run in {r.path: r for r in shown.values()}.values():
        export_run(run.path)
    entries = [
        Entry(key, r.path / "model.onnx", "teacher" if key == "teacher" else "student") for key, r in shown.items()
    ]
    x_test, y_test = dataset.split("test")
    result = bench(entries, x_test, y_test, memory=False, latency_options={"min_runs": 50, "min_seconds": 0.3})
    rows = {row["name"]: row for row in result["rows"]}
    found = {}
    for key in shown:
        row = rows[key]
        found[key] = {
            "accuracy": row["accuracy"],
            "agreement": row["agreement"],
            "p50_us": row["latency"]["p50_us"],
            "size_kb": row["size_kb"],
            "params": row["n_params"],
        }
    for name, group in members.items():
        found[f"{name}:members"] = {"accuracy": np.mean([r.manifest.metrics["test_accuracy"] for r in group])}
    found["runtime floor"] = {"p50_us": rows["runtime floor"]["latency"]["p50_us"]}
    return found


def mean_std(values, scale=1.0, digits=2) -> str:
    v = np.asarray(values, dtype=float) * scale
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"


def table(per_seed: list[dict]) -> str:
    lines = [
        "| model | test accuracy % | agreement with teacher % | p50 µs (batch 1, 1 thread) | ONNX KB | params |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, label in ROWS:
        rows = [seed[key] for seed in per_seed]
        acc = mean_std([r["accuracy"] for r in rows], 100)
        if ":members" in key:
            lines.append(f"| {label} | {acc} | — | — | — | — |")
            continue
        lines.append(
            f"| {label} | {acc} | {mean_std([r['agreement'] for r in rows], 100)} "
            f"| {mean_std([r['p50_us'] for r in rows], digits=1)} | {rows[0]['size_kb']:.1f} | {rows[0]['params']:,} |"
        )
    floor = mean_std([seed["runtime floor"]["p50_us"] for seed in per_seed], digits=1)
    lines.append(f"| runtime floor (Identity graph) | — | — | {floor} | — | — |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep", type=Path, help="Keep the runs under this directory (default: a temporary one).")
    args = parser.parse_args()
    start = time.perf_counter()
    per_seed = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        for seed in args.seeds:
            per_seed.append(one_seed(root / f"seed{seed}", seed))
            print(f"seed {seed} done after {time.perf_counter() - start:.0f} s", flush=True)
    text = (
        f"Digits, seeds {args.seeds} (mean ± std), 539 test images. Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores shared with other jobs, Python {platform.python_version()}; "
        f"took {time.perf_counter() - start:.0f} s.\n"
        f"Command: `.venv/bin/python benchmarks/neural_table.py --seeds {' '.join(map(str, args.seeds))}`\n\n"
        + table(per_seed)
        + "\n"
    )
    emit(text, args.out)


if __name__ == "__main__":
    main()
