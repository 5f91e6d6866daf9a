"""fp32 vs int8 on digits: export the CNN teacher and a KD MLP with each int8 scheme, bench them side by side.

    .venv/bin/python benchmarks/int8_digits.py --out benchmarks/results/int8_digits.md

Every step goes through the `kdedge` command line, exactly as a user types it: teacher train, distill, export with
--target cpu-int8-static and cpu-int8-dynamic (each writes model.onnx in fp32 and model.int8.onnx beside it), then
one `kdedge bench` at batch 1 and 8, one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import emit

KDEDGE = [sys.executable, "-m", "kdedge.cli"]
NAMES = {"teacher": "CNN teacher", "mlp": "MLP 128, KD T=4 α=0.9"}
SCHEMES = {"int8-static": "cpu-int8-static", "int8-dynamic": "cpu-int8-dynamic"}


def kdedge(*args) -> str:
    env = {**os.environ, "KDEDGE_QUIET": "1"}
    return subprocess.run([*KDEDGE, *map(str, args)], check=True, capture_output=True, text=True, env=env).stdout


def build(root: Path, seed: int) -> dict[tuple[str, str], Path]:
    """(model, precision) -> ONNX file, plus each int8 export's figures in its run manifest."""
    kdedge("teacher", "train", "--data", "digits", "--seed", seed, "--out", root / "teacher")
    kdedge(
        "distill", "--teacher", root / "teacher", "--student", "mlp", "--method", "kd", "--temperature", 4,
        "--alpha", 0.9, "--seed", seed, "--out", root / "mlp",
    )  # fmt: skip
    files = {}
    for model in NAMES:
        for precision, target in SCHEMES.items():
            run = root / f"{model}-{precision}"
            shutil.copytree(root / model, run)
            kdedge("export", run, "--target", target, "--keep-slower-int8")  # both graphs, to bench side by side
            files[(model, "fp32")] = run / "model.onnx"  # the same fp32 graph from either export
            files[(model, precision)] = run / "model.int8.onnx"
    return files


def bench(files: dict[tuple[str, str], Path], threads: int) -> dict:
    args = []
    for path in files.values():
        args += ["--model", path]
    teacher = files[("teacher", "fp32")]
    out = kdedge(
        "bench", *args, "--data", "digits", "--teacher", teacher, "--batch", "1,8", "--threads", threads,
        "--json",
    )  # fmt: skip
    return {row["path"]: row for row in json.loads(out)["rows"]}


def table(files: dict[tuple[str, str], Path], rows: dict) -> str:
    lines = [
        "| model | precision | test acc % | agreement with fp32 % | agreement with teacher % | ONNX KB "
        "| p50 µs batch 1 | p50 µs batch 8 (per sample) | batch-1 p50 vs fp32 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (model, precision), path in files.items():
        row = rows[str(path)]
        fp32 = rows[str(files[(model, "fp32")])]
        b1, b8 = row["latencies"][0], row["latencies"][1]
        ratio = b1["p50_us"] / fp32["latencies"][0]["p50_us"]
        agreement_fp32 = "—"
        if precision != "fp32":
            manifest = json.loads((path.parent / "kdedge.json").read_text())
            agreement_fp32 = f"{100 * manifest['export']['int8']['agreement_with_fp32']:.2f}"
        lines.append(
            f"| {NAMES[model]} | {precision} | {100 * row['accuracy']:.2f} | {agreement_fp32} "
            f"| {100 * row['agreement']:.2f} | {row['size_kb']:.1f} | {b1['p50_us']:.1f} "
            f"| {b8['p50_us']:.1f} ({b8['p50_us_per_sample']:.2f}) | {ratio:.2f}× |"
        )
    floor = rows[next(p for p in rows if rows[p]["kind"] == "floor")]
    lines.append(
        f"| runtime floor (Identity graph) | — | — | — | — | — | {floor['latencies'][0]['p50_us']:.1f} "
        f"| {floor['latencies'][1]['p50_us']:.1f} | — |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as root:
        files = build(Path(root), args.seed)
        files = dict(sorted(files.items(), key=lambda kv: (list(NAMES).index(kv[0][0]), kv[0][1] != "fp32")))
        rows = bench(files, args.threads)
        import onnxruntime

        text = (
            f"Digits, seed {args.seed}, 539 test images; batch 1 and 8, {args.threads} intra-op thread(s). "
            f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs, Python "
            f"{platform.python_version()}, onnxruntime {onnxruntime.__version__}; took "
            f"{time.perf_counter() - start:.0f} s.\n"
            f"Command: `.venv/bin/python benchmarks/int8_digits.py --seed {args.seed} --threads {args.threads}`\n\n"
            "int8-static: QDQ S8S8, per-channel weights, calibrated on 256 train images (target cpu-int8-static). "
            "int8-dynamic: int8 weights, activations quantized per call (target cpu-int8-dynamic).\n\n"
            + table(files, rows)
            + "\n"
        )
    emit(text, args.out)


if __name__ == "__main__":
    main()
