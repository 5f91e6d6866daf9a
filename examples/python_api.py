"""The demo through the Python API: the same functions the `kdedge` commands call.

.venv/bin/python examples/python_api.py --out runs/api [--epochs 60]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kdedge.convert import export_run
from kdedge.data import load_dataset
from kdedge.distill.methods import make_method
from kdedge.distill.run import fit_run
from kdedge.measure import Entry, bench
from kdedge.table import bench_table
from kdedge.teachers import load_teacher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/api"))
    parser.add_argument("--epochs", type=int, default=60, help="teacher epochs; students get 3x")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    digits = load_dataset("digits", seed=args.seed)
    teacher = fit_run(
        out=args.out / "teacher",
        kind="teacher",
        family="cnn",
        options={"epochs": args.epochs},
        method=make_method("hard"),
        dataset=digits,
        data_source="digits",
        seed=args.seed,
        overwrite=True,
    )
    students = {
        "mlp-kd": make_method("kd", temperature=4.0, alpha=0.9),
        "mlp-hard": make_method("hard"),
    }
    runs = [teacher]
    for name, method in students.items():
        runs.append(
            fit_run(
                out=args.out / name,
                kind="student",
                family="mlp",
                options={"hidden": (128,), "epochs": 3 * args.epochs},
                method=method,
                dataset=digits,
                data_source="digits",
                seed=args.seed,
                teacher=load_teacher(teacher.path),
                overwrite=True,
            )
        )
    for run in runs:
        export_run(run.path)  # parity-checked ONNX, or an ExportError and no file
    x_test, y_test = digits.split("test")
    result = bench([Entry(r.name, r.path / "model.onnx", r.kind) for r in runs], x_test, y_test)
    result["data"] = digits.describe()
    bench_table(result)


if __name__ == "__main__":
    main()
