"""A disk that fills up mid-way (issue #30, item 6), for real: each command runs in a process whose file-size limit
(RLIMIT_FSIZE, with SIGXFSZ ignored) makes the kernel refuse a write part-way, as a full disk does. Each ends in one
line, exit 2, and leaves nothing behind. Slow (real processes): `make test-slow`."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys

import pytest

from .kit import REPO

pytestmark = pytest.mark.slow
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "KDEDGE_QUIET": "1"}
ENV.pop("KDEDGE_DEBUG", None)
TINY_RECIPE = ("--set", "teacher.epochs=1", "--set", "teacher.channels=[4, 8, 8]", "--set", "student.epochs=1")
TINY_RECIPE += ("--set", "student.hidden=[8]", "--set", "bench.min_runs=5", "--set", "bench.min_seconds=0")


def run_with_file_limit(limit_bytes: int, *args, cwd) -> subprocess.CompletedProcess:
    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    command = [sys.executable, "-m", "kdedge.cli", *map(str, args)]
    return subprocess.run(command, env=ENV, cwd=cwd, preexec_fn=limited, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    out = tmp_path_factory.mktemp("teacher") / "teacher"
    made = subprocess.run(
        [sys.executable, "-m", "kdedge.cli", "teacher", "train", "--channels", "4,8,8", "--epochs", "2", "--out", out],
        env=ENV, capture_output=True, text=True,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return out


@pytest.mark.parametrize(
    "args",
    [
        ("teacher", "train", "--channels", "4,8,8", "--epochs", "2", "--out", "out"),
        ("run", "quick", *TINY_RECIPE, "--out", "out"),
        ("sweep", "quick", "--grid", "seed=0,1", *TINY_RECIPE, "--jobs", "1", "--out", "out"),
        ("search", "--teacher", "TEACHER", "--families", "mlp", "--trials", "2", "--max-epochs", "1", "--out", "out"),
    ],
    ids=["teacher-train", "run", "sweep", "search"],
)
def test_a_full_disk_is_one_line_exit_2_and_nothing_left(tmp_path, teacher, args):
    args = [str(teacher) if a == "TEACHER" else a for a in args]
    result = run_with_file_limit(2_000, *args, cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr  # before it, only the teacher's plan line
    assert "File too large" in errors[0] or "disk full" in errors[0], errors[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "a full disk left files behind"
