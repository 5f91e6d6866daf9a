"""Fukui et al.'s comparison on digits: non-neural students trained on labels (hard) vs regressing a CNN teacher's
logits or tempered softmax, on the training split and on a 5x augmented transfer set; 3 seeds, mean ± std.
The augmented copies keep their source's label (shifts and small noise preserve the class), so the hard baseline
learns from the same enlarged set: hard vs regression on one set isolates distillation, train vs augment 5x with
the same method isolates augmentation.

    KDEDGE_QUIET=1 .venv/bin/python benchmarks/fukui_table.py --out benchmarks/results/fukui_table.md
    ... --main-only   # only the main tables (accuracy; agreement, latency, size, fit time; gain split), no sweeps

Every cell goes through the library calls the CLI makes: `kdedge.jobs.execute` (= `kdedge distill`), `export_run`
(= `kdedge export`, parity gate included) and `bench.bench` (= `kdedge bench`). One CNN teacher is trained per seed
and shared by every student of that seed. Runs are kept under --runs, so an interrupted benchmark resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("KDEDGE_QUIET", "1")

from _report import emit

from kdedge import measure as bench  # noqa: E402
from kdedge.convert import export_run  # noqa: E402
from kdedge.data import load_dataset  # noqa: E402
from kdedge.distillation.methods import make_method  # noqa: E402
from kdedge.distillation.transfer import make_transfer  # noqa: E402
from kdedge.jobs import Job, execute, resolve  # noqa: E402
from kdedge.runs import Run  # noqa: E402

METHODS = {  # column label -> (method, options)
    "hard": ("hard", {}),
    "logits": ("logits", {}),
    "T=1": ("softmax", {"temperature": 1.0}),
    "T=50": ("softmax", {"temperature": 50.0}),
    "T=100": ("softmax", {"temperature": 100.0}),
}
TRANSFERS = {"train": ("train", {}), "augment 5x": ("augment", {"transfer_size": "5x"})}
# The main table: one sensible setting per family.
MAIN = {
    "SVR/SVC RBF, C=10": ("svm", {"kernel": "rbf", "C": 10.0}),
    "random forest, 30 trees, unlimited depth": ("forest", {"n_estimators": 30}),
    "LightGBM, 31 leaves x 50 rounds": ("gbdt", {"num_leaves": 31, "n_estimators": 50}),
    "decision tree, unlimited depth": ("tree", {}),
}
# Sweeps on the training split (the paper's setting): C for SVMs, tree count x depth for forests and LightGBM.
SWEEP_METHODS = {
    "svm": ["hard", "logits", "T=50"],
    "forest": ["hard", "logits", "T=1"],
    "gbdt": ["hard", "logits", "T=1"],
}
SVM_SWEEP = [(k, c) for k in ("rbf", "poly") for c in (0.1, 1.0, 10.0, 100.0)]
FOREST_GRID = [(n, d) for n in (5, 30) for d in (4, 8, None)]
GBDT_GRID = [(n, leaves) for n in (10, 50) for leaves in (4, 31)]
TEACHER_OPTIONS = {"epochs": 60, "patience": 20}  # `kdedge teacher train` defaults
LATENCY = {"min_runs": 100, "min_seconds": 0.1}


@dataclass
class Cell:
    seed: int
    family: str
    options: dict
    method: str  # a METHODS label
    transfer: str  # a TRANSFERS label
    figures: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        opts = "-".join(f"{k}{v}" for k, v in sorted(self.options.items()))
        return f"{self.family}-{opts}-{self.method}-{self.transfer}".replace(" ", "").replace("=", "")


def teacher_for(root: Path, seed: int):
    out = root / f"seed{seed}" / "teacher"
    if not (out / "model.onnx").is_file():
        run = execute(
            Job(
                out=out,
                kind="teacher",
                family="cnn",
                options=TEACHER_OPTIONS,
                method=make_method("hard"),
                dataset=load_dataset("digits", seed=seed),
                data_source="digits",
                seed=seed,
                overwrite=True,
            )
        )
        export_run(run.path)
    return Run.load(out)


def figures_file(root: Path, cell: Cell) -> Path:
    return root / f"seed{cell.seed}" / cell.name / "fukui.json"


def measure(root: Path, cell: Cell, teacher_run: Run, dataset) -> dict:
    """fit -> export -> bench one cell; figures are cached next to the run so a rerun resumes."""
    cached = figures_file(root, cell)
    out = cached.parent
    if cached.is_file():
        return json.loads(cached.read_text())
    method, method_options = METHODS[cell.method]
    kind, transfer_options = TRANSFERS[cell.transfer]
    run = execute(
        Job(
            out=out,
            kind="student",
            family=cell.family,
            options=cell.options,
            method=make_method(method, **method_options),
            dataset=dataset,
            data_source="digits",
            seed=cell.seed,
            teacher=resolve(teacher_run.path, data=dataset).teacher,
            overwrite=True,
            transfer=make_transfer(kind, **transfer_options),
        )
    )
    export_run(run.path)
    x_test, y_test = dataset.split("test")
    row = bench.bench(
        [bench.Entry(cell.name, run.onnx_path)], x_test, y_test, memory=False, floor=False, latency_options=LATENCY
    )["rows"][0]
    metrics = Run.load(out).manifest.metrics
    figures = {
        "accuracy": row["accuracy"],  # from the ONNX graph
        "agreement": metrics["test_agreement_with_teacher"],
        "p50_us": row["latency"]["p50_us"],
        "size_kb": row["size_kb"],
        "fit_s": metrics["fit_seconds"],
        "transfer_samples": metrics["transfer_samples"],
    }
    cached.write_text(json.dumps(figures))
    return figures


def cells_for(seed: int, main_only: bool = False) -> list[Cell]:
    cells = [
        Cell(seed, family, options, method, transfer)
        for family, options in MAIN.values()
        for transfer in TRANSFERS
        for method in METHODS
    ]
    if main_only:
        return cells
    for kernel, c in SVM_SWEEP:
        cells += [Cell(seed, "svm", {"kernel": kernel, "C": c}, m, "train") for m in SWEEP_METHODS["svm"]]
    for n, depth in FOREST_GRID:
        options = {"n_estimators": n} if depth is None else {"n_estimators": n, "max_depth": depth}
        cells += [Cell(seed, "forest", options, m, "train") for m in SWEEP_METHODS["forest"]]
    for n, leaves in GBDT_GRID:
        cells += [
            Cell(seed, "gbdt", {"num_leaves": leaves, "n_estimators": n}, m, "train") for m in SWEEP_METHODS["gbdt"]
        ]
    unique = {}
    for cell in cells:
        unique.setdefault(cell.name, cell)
    return list(unique.values())


# -- tables --
def pm(values, scale=100.0, digits=1) -> str:
    values = np.asarray(values, float) * scale
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def collect(cells: list[Cell]) -> dict:
    by_key: dict[tuple, list[dict]] = {}
    for c in cells:
        key = (c.family, json.dumps(c.options, sort_keys=True), c.method, c.transfer)
        by_key.setdefault(key, []).append(c.figures)
    return by_key


def figures_of(table: dict, family: str, options: dict, method: str, transfer: str) -> list[dict] | None:
    return table.get((family, json.dumps(options, sort_keys=True), method, transfer))


def main_tables(table: dict) -> list[str]:
    lines = [
        "### Test accuracy % (mean ± std over seeds): hard labels vs regression on the teacher's outputs",
        "",
        "| student | transfer set | " + " | ".join(METHODS) + " |",
        "| --- | --- |" + " --- |" * len(METHODS),
    ]
    for label, (family, options) in MAIN.items():
        for transfer in TRANSFERS:
            row = []
            for method in METHODS:
                figs = figures_of(table, family, options, method, transfer)
                row.append("—" if figs is None else pm([f["accuracy"] for f in figs]))
            lines.append(f"| {label} | {transfer} | " + " | ".join(row) + " |")
    lines += [
        "",
        "### Agreement with the teacher, batch-1 latency, ONNX size and fit time (same runs)",
        "",
        "| student | transfer set | method | agreement % | p50 µs | ONNX KB | fit s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, (family, options) in MAIN.items():
        for transfer in TRANSFERS:
            for method in METHODS:
                figs = figures_of(table, family, options, method, transfer)
                if figs is None:
                    continue
                lines.append(
                    f"| {label} | {transfer} | {method} | {pm([f['agreement'] for f in figs])} | "
                    f"{np.mean([f['p50_us'] for f in figs]):.1f} | {np.mean([f['size_kb'] for f in figs]):.0f} | "
                    f"{np.mean([f['fit_s'] for f in figs]):.2f} |"
                )
    return lines


def paired(table: dict, family: str, options: dict, a: tuple[str, str], b: tuple[str, str]) -> str:
    """Mean ± std over seeds of accuracy(a) − accuracy(b), in points; a and b are (method, transfer), same seeds."""
    fa, fb = (figures_of(table, family, options, *key) for key in (a, b))
    if fa is None or fb is None:
        return "—"
    return pm([x["accuracy"] - y["accuracy"] for x, y in zip(fa, fb, strict=True)])


def gain_table(table: dict) -> list[str]:
    """Split the enlarged set's gain: augmentation (same method, train -> augment 5x) vs distillation (same set,
    hard labels -> regression on the teacher's logits). Differences are paired by seed."""
    train, augment = TRANSFERS
    columns = {
        "augmentation, hard": (("hard", augment), ("hard", train)),
        "augmentation, logits": (("logits", augment), ("logits", train)),
        "distillation on train": (("logits", train), ("hard", train)),
        "distillation on augment 5x": (("logits", augment), ("hard", augment)),
        "both (logits 5x − hard train)": (("logits", augment), ("hard", train)),
    }
    lines = [
        "### Where the enlarged set's gain comes from (accuracy points, paired by seed, mean ± std)",
        "",
        "Augmentation: the same method on augment 5x minus on train. Distillation: regression on the teacher's "
        "logits minus hard labels on the same transfer set.",
        "",
        "| student | " + " | ".join(columns) + " |",
        "| --- |" + " --- |" * len(columns),
    ]
    for label, (family, options) in MAIN.items():
        row = [paired(table, family, options, a, b) for a, b in columns.values()]
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    return lines


def sweep_table(table: dict, title: str, family: str, settings: list[tuple[str, dict]]) -> list[str]:
    methods = SWEEP_METHODS[family]
    head = " | ".join(f"{m} acc %" for m in methods)
    lines = [
        f"### {title} (training split as transfer set)",
        "",
        f"| setting | {head} | agreement % ({methods[1]}) | p50 µs ({methods[1]}) | ONNX KB ({methods[1]}) |",
        "| --- |" + " --- |" * (len(methods) + 3),
    ]
    for label, options in settings:
        cells = [figures_of(table, family, options, m, "train") for m in methods]
        accs = ["—" if figs is None else pm([f["accuracy"] for f in figs]) for figs in cells]
        ref = cells[1]
        lines.append(
            f"| {label} | {' | '.join(accs)} | {pm([f['agreement'] for f in ref])} | "
            f"{np.mean([f['p50_us'] for f in ref]):.1f} | {np.mean([f['size_kb'] for f in ref]):.0f} |"
        )
    return lines


def teacher_line(teachers: list[Run], dataset_by_seed: dict) -> str:
    accs, p50s, sizes = [], [], []
    for run in teachers:
        x, y = dataset_by_seed[run.manifest.seed].split("test")
        row = bench.bench(
            [bench.Entry("teacher", run.onnx_path, "teacher")], x, y, memory=False, floor=False, latency_options=LATENCY
        )["rows"][0]
        accs.append(row["accuracy"])
        p50s.append(row["latency"]["p50_us"])
        sizes.append(row["size_kb"])
    return (
        f"Teacher: CNN ({teachers[0].manifest['student']['n_params']} params), test accuracy {pm(accs)} %, "
        f"p50 {np.mean(p50s):.1f} µs, ONNX {np.mean(sizes):.0f} KB."
    )


def sweep_tables(table: dict) -> list[str]:
    return [
        *sweep_table(
            table,
            "SVM: C sweep",
            "svm",
            [(f"{k}, C={c:g}", {"kernel": k, "C": c}) for k, c in SVM_SWEEP],
        ),
        "",
        *sweep_table(
            table,
            "Random forest: trees x depth",
            "forest",
            [
                (
                    f"{n} trees, depth {d or 'unlimited'}",
                    {"n_estimators": n} if d is None else {"n_estimators": n, "max_depth": d},
                )
                for n, d in FOREST_GRID
            ],
        ),
        "",
        *sweep_table(
            table,
            "LightGBM: rounds x leaves (per class for regression)",
            "gbdt",
            [(f"{n} rounds, {leaves} leaves", {"num_leaves": leaves, "n_estimators": n}) for n, leaves in GBDT_GRID],
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", type=Path, default=Path("/tmp/kdedge-fukui"), help="where the runs are kept")
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    parser.add_argument("--main-only", action="store_true", help="skip the sweeps (C, trees x depth, rounds x leaves)")
    args = parser.parse_args()

    start = time.perf_counter()
    cells, teachers, datasets = [], [], {}
    fresh = 0
    for seed in args.seeds:
        datasets[seed] = load_dataset("digits", seed=seed)
        teacher = teacher_for(args.runs, seed)
        teachers.append(teacher)
        todo = cells_for(seed, args.main_only)
        for i, cell in enumerate(todo, 1):
            fresh += not figures_file(args.runs, cell).is_file()
            cell.figures = measure(args.runs, cell, teacher, datasets[seed])
            print(f"seed {seed} [{i}/{len(todo)}] {cell.name}: {cell.figures['accuracy']:.4f}", file=sys.stderr)
        cells += todo
    table = collect(cells)
    sizes = datasets[args.seeds[0]].describe()["sizes"]
    lines = [
        "## Non-neural students distilled from a CNN teacher on digits (Fukui et al.)",
        "",
        f"Seeds {', '.join(map(str, args.seeds))}; splits train {sizes['train']} / val {sizes['val']} / "
        f"test {sizes['test']}. Accuracy comes from the exported ONNX graph on the test split; agreement is with the "
        "teacher's labels on the same split; latency is onnxruntime batch 1, one thread, p50, measured while other "
        "jobs shared the machine (rough). Regression targets are standardized with one global mean/std. "
        "Augmented copies (shifts of at most one pixel, noise of 0.1 std) keep their source's label, so `hard` on "
        "augment 5x is the classifier trained on the same enlarged set the regressors see.",
        "",
        teacher_line(teachers, datasets),
        "",
        *main_tables(table),
        "",
        *gain_table(table),
        "",
    ]
    if args.main_only:
        lines += [
            "Sweeps skipped (`--main-only`): see an earlier full run for C, trees x depth and rounds x leaves.",
            "",
        ]
    else:
        lines += [*sweep_tables(table), ""]
    lines += [
        f"Produced by `benchmarks/fukui_table.py{' --main-only' if args.main_only else ''}` in "
        f"{time.perf_counter() - start:.0f} s on {platform.machine()} ({os.cpu_count()} cores, shared); {fresh} of "
        f"{len(cells)} cells fitted in this run, the others read from the runs an earlier run kept under --runs "
        "(fits are deterministic per seed; their latencies were measured then).",
    ]
    text = "\n".join(lines) + "\n"
    emit(text, args.out)


if __name__ == "__main__":
    main()
