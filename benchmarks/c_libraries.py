"""Which library writes each family's C: every candidate that takes the family, measured on the same digits
students — correct (scores and labels against the run's ONNX graph on the test split), compile time, size
(host object and Cortex-M4 flash) and speed (p50 of one call at batch 1, timed in C like `kdedge bench`).

    .venv/bin/python benchmarks/c_libraries.py --out benchmarks/results/c_libraries.md

Students are made through the `kdedge` command line (teacher, distill, export to ONNX). Candidates: emlearn,
m2cgen, treelite + tl2cgen, and kdedge's own hand-written SVR code; each candidate's code is wrapped in the same
header/source pair and input normalization as `kdedge export --target c`, so only the model code differs.
A candidate that refuses a model, or does not generate code within --timeout seconds, says so in the table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import emit

KDEDGE = [sys.executable, "-m", "kdedge.cli"]
STUDENTS = {
    "mlp": ["--student", "mlp", "--hidden", "32", "--method", "kd", "--epochs", "60"],
    "tree": ["--student", "tree", "--max-depth", "8", "--method", "logits"],
    "forest": ["--student", "forest", "--n-estimators", "10", "--max-depth", "6", "--method", "logits"],
    "gbdt": ["--student", "gbdt", "--n-estimators", "20", "--num-leaves", "8", "--method", "logits"],
    "svm-rbf": ["--student", "svm", "--kernel", "rbf", "--method", "logits"],
    "svm-linear": ["--student", "svm", "--kernel", "linear", "--method", "logits"],
}


def kdedge(*args) -> None:
    env = {**os.environ, "KDEDGE_QUIET": "1"}
    subprocess.run([*KDEDGE, *map(str, args)], check=True, capture_output=True, text=True, env=env)


def build(root: Path, seed: int) -> dict[str, Path]:
    kdedge("teacher", "train", "--data", "digits", "--seed", seed, "--epochs", 15, "--out", root / "teacher")
    runs = {}
    for name, args in STUDENTS.items():
        kdedge("distill", "--teacher", root / "teacher", *args, "--seed", seed, "--out", root / name)
        kdedge("export", root / name)
        runs[name] = root / name
    return runs


# -- candidates: fn(student, prefix) -> CCore, or raise with the library's own reason --
def kdedge_choice(student, prefix):
    from kdedge.convert.c.generators import to_c

    return to_c(student, prefix)


def tl2cgen_trees(student, prefix):
    from kdedge.convert.c.tl2cgen_trees import tl2cgen_core, trees_to_c

    if student.family != "gbdt":
        return trees_to_c(student, prefix)
    import treelite

    models = [treelite.frontend.from_lightgbm(b) for b in student.model]
    return tl2cgen_core(models, prefix, int(np.prod(student.sample_shape)), student.n_classes)


def emlearn_mlp(student, prefix):
    """emlearn's eml_net ("loadable" layout), its headers inlined so the source stands alone."""
    import emlearn
    from emlearn.net import c_generate_net_loadable

    from kdedge.convert.c.generators import CCore
    from kdedge.convert.c.mlp_layers import mlp_layers, normalization

    rows, biases, normalize = mlp_layers(student)
    weights = [np.ascontiguousarray(w.T) for w in rows]  # emlearn takes (n_in, n_out)
    activations = ["relu"] * (len(weights) - 1) + ["identity"]  # logits out, as the graph's `scores`
    net = f"{prefix}_net"
    code = inline_headers(c_generate_net_loadable(activations, weights, biases, prefix=net), Path(emlearn.includedir))
    n_in, n_out = weights[0].shape[0], weights[-1].shape[1]
    code += (
        f"\nstatic void {prefix}_core(const float *features, float *scores) {{\n"
        f"  {net}_regress(features, {n_in}, scores, {n_out});\n}}\n"
    )
    return CCore(code, f"emlearn {emlearn.__version__}", (*normalization(student, normalize), "div"))


def inline_headers(code: str, include_dir: Path, seen: set[str] | None = None) -> str:
    """Replace each `#include <eml_*.h>` / `"eml_*.h"` by the header's text (once), so the .c stands alone."""
    seen = set() if seen is None else seen

    def expand(match: re.Match) -> str:
        name = match.group(1)
        if name in seen:
            return ""
        seen.add(name)
        text = (include_dir / name).read_text()
        return f"/* ---- {name} (emlearn, MIT license) ---- */\n" + inline_headers(text, include_dir, seen)

    return re.sub(r'^[ \t]*#include\s*[<"](eml_\w+\.h)[>"][^\n]*$', expand, code, flags=re.M)


def emlearn_trees(student, prefix):
    import emlearn

    final = student.model.steps[-1][1] if hasattr(student.model, "steps") else student.model[0]
    emlearn.convert(final, method="inline")  # raises for what emlearn cannot take
    raise RuntimeError("converted, but emlearn trees return one value or 8-bit class proportions, not K scores")


def m2cgen_model(student, prefix):
    import m2cgen

    from kdedge.convert.c.generators import CCore

    sys.setrecursionlimit(100_000)  # m2cgen's documented workaround for deep expression trees
    n_features, k = int(np.prod(student.sample_shape)), student.n_classes
    normalize = None
    if student.family == "gbdt":
        import lightgbm

        models = []
        for booster in student.model:
            shell = lightgbm.LGBMRegressor()
            shell._Booster, shell.fitted_, shell._n_features = booster, True, n_features
            models.append(shell)
    else:
        steps = dict(student.model.steps)
        final = steps["model"]
        models = list(final.estimators_) if type(final).__name__ == "MultiOutputRegressor" else [final]
        if "scale" in steps:
            normalize = (steps["scale"].mean_, 1.0 / steps["scale"].scale_, "mul")
    parts, calls = [], []
    for i, model in enumerate(models):
        parts.append(m2cgen.export_to_c(model, function_name=f"{prefix}_m{i}"))
        if len(models) == 1 and f"void {prefix}_m0(" not in parts[0]:
            raise RuntimeError(f"m2cgen wrote `double {prefix}_m0(double *input)`: one output of a K-output model")
        if len(models) == 1:
            calls.append(f"  {prefix}_m0(in, out);")
        else:
            calls.append(f"  out[{i}] = {prefix}_m{i}(in);")
    code = "\n".join(parts) + (
        f"\nstatic void {prefix}_core(const float *features, float *scores) {{\n"
        f"  double in[{n_features}], out[{k}];\n  for (int i = 0; i < {n_features}; i++) in[i] = features[i];\n"
        + "\n".join(calls)
        + f"\n  for (int i = 0; i < {k}; i++) scores[i] = (float)out[i];\n}}\n"
    )
    return CCore(code, f"m2cgen {m2cgen.__version__}", normalize)


CANDIDATES = {
    "mlp": {"hand-written (kdedge's choice)": kdedge_choice, "emlearn": emlearn_mlp},
    "tree": {"treelite + tl2cgen (kdedge's choice)": kdedge_choice, "m2cgen": m2cgen_model, "emlearn": emlearn_trees},
    "forest": {"treelite + tl2cgen (kdedge's choice)": kdedge_choice, "m2cgen": m2cgen_model, "emlearn": emlearn_trees},
    "gbdt": {"m2cgen (kdedge's choice)": kdedge_choice, "treelite + tl2cgen": tl2cgen_trees},
    "svm-rbf": {"hand-written (kdedge's choice)": kdedge_choice, "m2cgen": m2cgen_model},
    "svm-linear": {"hand-written (kdedge's choice)": kdedge_choice, "m2cgen": m2cgen_model},
}


def _generate(fn, run_dir, prefix, queue):
    from kdedge.runs import Run
    from kdedge.students import load_student

    try:
        start = time.perf_counter()
        core = fn(load_student(Run.load(run_dir)), prefix)
        queue.put(("ok", core, time.perf_counter() - start))
    except Exception as exc:  # the library's own refusal is the finding
        message = (str(exc).splitlines() or [""])[0][:140]
        queue.put(("error", f"{type(exc).__name__}: {message}" if message else type(exc).__name__, 0.0))


def generate(fn, run_dir: Path, prefix: str, timeout: float):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_generate, args=(fn, run_dir, prefix, queue))
    proc.start()
    try:
        return queue.get(timeout=timeout)
    except Exception:
        return ("error", f"no code after {timeout:.0f} s (stopped)", timeout)
    finally:
        proc.kill()
        proc.join()


def measure(run_dir: Path, core, work: Path) -> dict:
    from kdedge.convert.c.mcu import mcu_sizes, toolchain_missing
    from kdedge.convert.c.source import header, source
    from kdedge.convert.parity import run_onnx
    from kdedge.measure import c_harness
    from kdedge.runs import Run

    run = Run.load(run_dir)
    prefix, k = "kdedge_bench", run.manifest.data.n_classes
    n = int(np.prod(run.manifest.data.sample_shape))
    (work / f"{prefix}.h").write_text(header(prefix, run.family, core.library, n, k, run.manifest.data.sample_shape))
    c_file = work / f"{prefix}.c"
    c_file.write_text(source(prefix, core, n, k))
    start = time.perf_counter()
    exe = c_harness.build(c_file, prefix, n, k, work)
    compile_s = time.perf_counter() - start
    x, _ = run.dataset().split("test")
    scores, labels = c_harness.predict(exe, x, k)
    ref_scores, ref_labels = run_onnx(run.onnx_path.read_bytes(), x)
    obj = work / "model.o"
    subprocess.run([c_harness.compiler(), *c_harness.host_flags(), "-c", str(c_file), "-o", str(obj)], check=True)
    text, data, bss = (
        int(v) for v in subprocess.check_output(["size", str(obj)], text=True).splitlines()[1].split()[:3]
    )
    flash = None
    if toolchain_missing() is None:
        flash = mcu_sizes(c_file, prefix, n, k, "cortex-m4", work)["flash_kb"]
    latency = c_harness.time_c(exe, x[:256], min_seconds=0.5)
    return {
        "max_abs_diff": float(np.max(np.abs(scores - ref_scores))),
        "labels": float(np.mean(labels == ref_labels)),
        "compile_s": compile_s,
        "host_kb": (text + data + bss) / 1024,
        "flash_kb": flash,
        "p50_us": latency["p50_us"],
        "source_kb": c_file.stat().st_size / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a library may take to write code")
    parser.add_argument("--runs", type=Path, help="keep the students here (reused when the folder exists)")
    args = parser.parse_args()
    from kdedge.measure import c_harness

    lines = [
        "# C code generators per family (digits, test split)",
        "",
        f"Command: `python benchmarks/c_libraries.py --timeout {args.timeout:g}`. Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, {platform.platform()}; host compiler `{c_harness.build_command()}`; Cortex-M4 flash "
        "from "
        "`arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os`, linked, minus an "
        "empty firmware. Diff and labels: against the run's ONNX graph. p50: one call at batch 1, timed in C.",
        "",
        "| family | library | result | gen s | compile s | C source KB | host object KB | M4 flash KB | "
        "max abs diff | labels = ONNX | p50 µs |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    with tempfile.TemporaryDirectory(prefix="kdedge-c-libs-") as tmp:
        if args.runs is not None and (args.runs / "teacher").is_dir():
            runs = {name: args.runs / name for name in STUDENTS}
        else:
            runs = build(args.runs or Path(tmp), args.seed)
        for family, candidates in CANDIDATES.items():
            for library, fn in candidates.items():
                status, value, gen_s = generate(fn, runs[family], "kdedge_bench", args.timeout)
                if status == "error":
                    lines.append(f"| {family} | {library} | {value} | {gen_s:.0f} | | | | | | | |")
                    print(lines[-1], file=sys.stderr, flush=True)
                    continue
                work = Path(tempfile.mkdtemp(dir=tmp))
                try:
                    m = measure(runs[family], value, work)
                except Exception as exc:
                    lines.append(
                        f"| {family} | {library} | {str(exc).splitlines()[0][:140]} | {gen_s:.1f} | | | | | | | |"
                    )
                    continue
                flash = "—" if m["flash_kb"] is None else f"{m['flash_kb']:.1f}"
                lines.append(
                    f"| {family} | {library} | ok | {gen_s:.1f} | {m['compile_s']:.1f} | {m['source_kb']:.0f} | "
                    f"{m['host_kb']:.1f} | {flash} | {m['max_abs_diff']:.2g} | {m['labels']:.2%} | {m['p50_us']:.2f} |"
                )
                print(lines[-1], file=sys.stderr, flush=True)
    emit("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
