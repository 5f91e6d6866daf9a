"""App artifacts of the demo's digits MLP (`make demo`: runs/mlp): `kdedge export --target mobile` and `--target
web`, file sizes beside model.onnx, the .ort rows of `kdedge bench` beside the .onnx rows (same run, same machine,
repeated), and a screenshot of the page in headless Chromium; refreshes examples/web/ (the page without the
14 MB runtime, which it then loads from the CDN).

    make demo && .venv/bin/kdedge export runs/mlp --target cpu-int8-static --keep-slower-int8
    .venv/bin/python benchmarks/app_artifacts.py --run runs/mlp --out benchmarks/results/app_artifacts.md
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KDEDGE = str(Path(sys.executable).with_name("kdedge"))


def kdedge(*args) -> str:
    return subprocess.run([KDEDGE, *map(str, args)], check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "mlp")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "app_artifacts.md")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run = args.run
    mobile = kdedge("export", run, "--target", "mobile")
    web = kdedge("export", run, "--target", "web")
    p50 = {}
    for _ in range(args.repeats):
        result = json.loads(kdedge("bench", run, "--json"))
        for row in result["rows"]:
            p50.setdefault(row["name"], []).append(row["latency"]["p50_us"])
    from kdedge.convert.app.browser import run_page
    from kdedge.runs import Run

    shot = ROOT / "docs" / "img" / "web-page.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    run_page(run / "web", Run.load(run).dataset().split("test")[0][:50], screenshot=shot)
    example = ROOT / "examples" / "web"
    shutil.rmtree(example, ignore_errors=True)
    shutil.copytree(run / "web", example, ignore=shutil.ignore_patterns("ort"))
    sizes = {
        p.relative_to(run).as_posix(): p.stat().st_size
        for p in [run / "model.onnx", *sorted((run / "mobile").iterdir())]
    }
    lines = [
        "# App artifacts of the demo's digits MLP",
        "",
        f"Measured with `{' '.join(['.venv/bin/python', 'benchmarks/app_artifacts.py', '--run', str(run)])}` after "
        f"`make demo` and `kdedge export {run} --target cpu-int8-static --keep-slower-int8`,"
        f" on {result['machine']['cpu_model']} ({result['machine']['cpu_count']} cores), onnxruntime "
        f"{result['machine']['onnxruntime']}, load average {result['load']['loadavg_1m_before']:.1f}.",
        "",
        "| file | KB |",
        "| --- | ---: |",
        *(f"| `{name}` | {size / 1024:.1f} |" for name, size in sizes.items()),
        "",
        f"`kdedge bench {run}` p50 at batch 1, one thread, {args.repeats} runs of the command (median, min–max):",
        "",
        "| row | p50 µs | spread |",
        "| --- | ---: | --- |",
        *(
            f"| {name} | {statistics.median(v):.1f} | {min(v):.1f}–{max(v):.1f} |"
            for name, v in p50.items()
            if name != "runtime floor"
        ),
        "",
        "```",
        "$ kdedge export runs/mlp --target mobile",
        mobile.strip(),
        "$ kdedge export runs/mlp --target web",
        web.strip(),
        "```",
        "",
        "The page's screenshot (headless Chromium, the first of 50 test samples) is docs/img/web-page.png.",
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
