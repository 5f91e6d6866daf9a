"""The demo through the Python API (`import kdedge` only): teacher -> KD student and hard-label baseline -> ONNX
-> bench table.

.venv/bin/python examples/python_api.py --out runs/api [--epochs 60]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import kdedge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/api"))
    parser.add_argument("--epochs", type=int, default=60, help="teacher epochs; students get 3x")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = kdedge.load_data("digits", seed=args.seed)
    teacher = kdedge.train_teacher(data, out=args.out / "teacher", epochs=args.epochs, seed=args.seed, overwrite=True)
    kd = kdedge.distill(teacher, out=args.out / "mlp-kd", student="mlp", method="kd", temperature=4.0, alpha=0.9,
                        hidden=128, epochs=3 * args.epochs, seed=args.seed, overwrite=True)  # fmt: skip
    hard = kdedge.distill(teacher, out=args.out / "mlp-hard", student="mlp", method="hard", hidden=128,
                          epochs=3 * args.epochs, seed=args.seed, overwrite=True)  # fmt: skip
    for run in (teacher, kd, hard):
        kdedge.export(run)  # parity-checked ONNX, or a KdedgeError and no file
    result = kdedge.bench([kd, hard, teacher])
    print(result)
    print({r["name"]: round(r["accuracy"], 4) for r in result.records() if r["accuracy"] is not None})


if __name__ == "__main__":
    main()
