"""fp32 and int8 MLP students through onnxruntime and as C, side by side: accuracy, batch-1 p50 timed the way
`kdedge bench` times each (session.run for ONNX rows, a loop inside C for C rows), and flash/RAM on a Cortex-M4
and a Cortex-M0+ (no FPU).

    .venv/bin/python benchmarks/c_int8.py --out benchmarks/results/c_int8.md

Everything goes through the `kdedge` command line, as a user types it: teacher train (or --teacher), distill,
export (cpu-int8-dynamic --keep-slower-int8; C fp32 and int8 sized for a Cortex-M4, int8 also for a Cortex-M0+,
with the mcu-* profiles' settings minus their budgets), then --repeats
`kdedge bench --json` runs of all rows together, so load on this shared machine hits every row of a repeat alike;
each row's p50 is the median over repeats, with the range.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _report import emit

KDEDGE = [sys.executable, "-m", "kdedge.cli"]
STUDENTS = {  # name: distill options (KD from the digits teacher, as the demo's MLP)
    "mlp-32": ["--hidden", "32"],
    "mlp-128": ["--hidden", "128"],
    "mlp-256-256": ["--hidden", "256,256"],
}
ROWS = {  # bench row suffix -> label in the table
    "": "onnxruntime fp32",
    " int8": "onnxruntime int8 (dynamic)",
    " C": "C fp32 (kdedge)",
    " C int8": "C int8 (kdedge)",
}
# the shipped mcu-* profiles without their flash/RAM budgets, so every student is sized (a big one is not refused)
SIZE_PROFILES = {
    "m4": 'format = "c"\nmcu = "cortex-m4"\n',
    "m4-int8": 'format = "c"\nprecision = "int8-static"\nmcu = "cortex-m4"\n',
    "m0plus-int8": 'format = "c"\nprecision = "int8-static"\nmcu = "cortex-m0plus"\n',
}


def kdedge(*args) -> str:
    env = {**os.environ, "KDEDGE_QUIET": "1"}
    done = subprocess.run([*KDEDGE, *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"kdedge {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def make_students(work: Path, teacher: Path, epochs: int) -> dict[str, dict]:
    sizes = {}
    for name, options in STUDENTS.items():
        run = work / name
        kdedge("distill", "--teacher", str(teacher), "--student", "mlp", *options, "--method", "kd",
               "--temperature", "4", "--alpha", "0.9", "--epochs", str(epochs), "--out", str(run))  # fmt: skip
        kdedge("export", str(run), "--target", "cpu-int8-dynamic", "--keep-slower-int8")
        sizes[name] = {}
        for target, text in SIZE_PROFILES.items():
            profile = work / f"{target}.toml"
            profile.write_text(text)
            info = json.loads(kdedge("export", str(run), "--target", str(profile), "--json"))[str(run)]
            sizes[name][target] = info["mcu"]
        print(f"{name}: made and exported", file=sys.stderr, flush=True)
    return sizes


def bench(work: Path, repeats: int, seconds: float) -> dict[str, list[dict]]:
    runs = [str(work / name) for name in STUDENTS]
    rows: dict[str, list[dict]] = {}
    for i in range(repeats):
        out = json.loads(kdedge("bench", *runs, "--data", "digits", "--min-seconds", str(seconds), "--json"))
        for row in out["rows"]:
            rows.setdefault(row["name"], []).append(row)
        print(f"repeat {i + 1}/{repeats} done", file=sys.stderr, flush=True)
    return rows


def p50(rows: list[dict]) -> tuple[float, float, float]:
    values = [r["latency"]["p50_us"] for r in rows]
    return float(np.median(values)), min(values), max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, help="a digits teacher run (default: train one)")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0, help="timed seconds per row per repeat")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kdedge-c-int8-") as tmp:
        work = Path(tmp)
        teacher = args.teacher
        if teacher is None:
            teacher = work / "teacher"
            kdedge("teacher", "train", "--data", "digits", "--out", str(teacher))
        sizes = make_students(work, teacher, args.epochs)
        rows = bench(work, args.repeats, args.seconds)
    load = os.getloadavg()[0]
    lines = [
        "# fp32 and int8 MLP students: onnxruntime vs C",
        "",
        f"`.venv/bin/python benchmarks/c_int8.py{' --teacher ' + str(args.teacher) if args.teacher else ''} "
        f"--repeats {args.repeats} --seconds {args.seconds}` on "
        f"{platform.machine()} ({os.cpu_count()} cores, load {load:.1f} at the end), {platform.python_version()}. "
        f"KD students (T=4, alpha 0.9, {args.epochs} epochs) of a digits CNN teacher; p50 of one call at batch 1, "
        f"one thread; median over {args.repeats} bench runs holding every row (min-max in brackets).",
        "",
        "| student | row | test acc % | p50 µs | ORT fp32 / this | flash KB | RAM KB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in STUDENTS:
        base = p50(rows[name])[0]
        for suffix, label in ROWS.items():
            found = rows.get(name + suffix)
            if not found:
                lines.append(f"| {name} | {label} | — | — | — | | |")
                continue
            mid, lo, hi = p50(found)
            target = {" C": "m4", " C int8": "m4-int8"}.get(suffix)
            mcu = sizes[name][target] if target else None
            flash = f"{mcu['flash_kb']:.1f} (M4)" if mcu else ""
            ram = f"{mcu['ram_kb']:.2f} (M4)" if mcu else ""
            lines.append(
                f"| {name} | {label} | {100 * found[0]['accuracy']:.2f} | {mid:.2f} [{lo:.2f}-{hi:.2f}] | "
                f"{base / mid:.1f}× | {flash} | {ram} |"
            )
        m0 = sizes[name]["m0plus-int8"]
        lines.append(f"| {name} | C int8, Cortex-M0+ (sizes only) | | | | {m0['flash_kb']:.1f} | {m0['ram_kb']:.2f} |")
    for floor in ("runtime floor", "C floor"):
        mid, lo, hi = p50(rows[floor])
        lines.append(f"| — | {floor} | — | {mid:.2f} [{lo:.2f}-{hi:.2f}] | | | |")
    emit("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
