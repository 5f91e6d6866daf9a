"""What a kill costs: time lost when `kdedge teacher train` is killed (kill -9) at 80 % of its training, with the
checkpoint it saved (the same command run again resumes) and without one (it starts over).

    .venv/bin/python benchmarks/resume_cost.py [--epochs 150] [--repeats 3] [--checkpoint-every 5]

One uninterrupted run gives T (wall seconds, process start to end). Each repeat starts the same command, kills it
at 0.8 T, runs it again and times the second run: lost with resume = kill time + second run - T; lost without
resume = the kill time (all of it is redone). The resumed weights are compared with the uninterrupted run's bytes.
Prints a JSON record; the README quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def command(out: Path, epochs: int) -> list[str]:
    return [sys.executable, "-m", "kdedge.cli", "teacher", "train", "--data", "digits", "--epochs", str(epochs),
            "--patience", str(epochs), "--seed", "0", "--out", str(out)]  # fmt: skip


def timed(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--checkpoint-every", type=float, default=5.0, help="KDEDGE_CHECKPOINT_EVERY, seconds")
    args = parser.parse_args(argv)
    env = {**os.environ, "KDEDGE_QUIET": "1", "KDEDGE_CHECKPOINT_EVERY": str(args.checkpoint_every)}
    root = Path(tempfile.mkdtemp(prefix="kdedge-resume-"))
    try:
        whole = root / "whole"
        total = timed(command(whole, args.epochs), env)
        reference = (whole / "weights.safetensors").read_bytes()
        repeats = []
        for i in range(args.repeats):
            out = root / f"killed{i}"
            first = subprocess.Popen(command(out, args.epochs), env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)  # fmt: skip
            time.sleep(0.8 * total)
            first.send_signal(signal.SIGKILL)
            first.wait()
            killed_at = 0.8 * total
            checkpointed = (root / f".killed{i}.resume").is_dir()
            again = timed(command(out, args.epochs), env)
            repeats.append(
                {
                    "killed_at_s": round(killed_at, 1),
                    "had_checkpoint": checkpointed,
                    "second_run_s": round(again, 1),
                    "lost_with_resume_s": round(killed_at + again - total, 1),
                    "lost_without_resume_s": round(killed_at, 1),
                    "same_bytes_as_uninterrupted": (out / "weights.safetensors").read_bytes() == reference,
                }
            )
        lost = [r["lost_with_resume_s"] for r in repeats]
        print(
            json.dumps(
                {
                    "command": "kdedge " + " ".join(command(Path("OUT"), args.epochs)[3:]),
                    "checkpoint_every_s": args.checkpoint_every,
                    "uninterrupted_s": round(total, 1),
                    "repeats": repeats,
                    "lost_with_resume_s_median": round(statistics.median(lost), 1),
                    "lost_with_resume_s_range": [min(lost), max(lost)],
                    "lost_without_resume_s": round(0.8 * total, 1),
                    "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
                },
                indent=2,
            )
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
