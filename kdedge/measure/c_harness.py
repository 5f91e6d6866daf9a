"""Compile an exported C student with a small generated main and run it: predictions for the C parity gate, and
latency timed inside C for `kdedge bench` (no Python call counted). Stdlib and numpy only, like the rest of
kdedge.measure; needs a C compiler (`cc`, or $CC).

The timing loop follows kdedge.measure.timing.time_calls: the first call timed alone, warm-up of at least
`warmup_runs` calls and `warmup_seconds`, then at least `min_runs` timed calls and `min_seconds` (but no more than
MAX_TIMED calls once `min_runs` is reached: a 0.07 µs tree would otherwise time 14 million calls a second), cycling over
the samples, one sample per call (batch 1). The per-call times go back to Python, whose percentiles are the ORT
rows' own. The "C floor" is the same loop around an empty function in another translation unit.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import ExportError
from .timing import MIN_RUNS, MIN_SECONDS, summarize

HARNESS_C = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include HEADER

int32_t kdedge_empty_predict(const float *input, float *scores); /* floor.c: the call and nothing else */
typedef int32_t (*predict_fn)(const float *, float *);

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static float *read_rows(const char *path, long *n) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  *n = bytes / (long)(sizeof(float) * N_FEATURES);
  float *x = malloc((size_t)bytes + 1);
  if (fread(x, 1, (size_t)bytes, f) != (size_t)bytes) { perror(path); exit(2); }
  fclose(f);
  return x;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: harness predict|time|floor IN OUT [warmup_runs warmup_s min_runs min_s]\n");
    return 2;
  }
  long n;
  float *x = read_rows(argv[2], &n);
  FILE *out = fopen(argv[3], "wb");
  if (!out) { perror(argv[3]); return 2; }
  float scores[N_CLASSES];
  if (strcmp(argv[1], "predict") == 0) {
    for (long i = 0; i < n; i++) {
      int32_t label = PREDICT(x + i * N_FEATURES, scores);
      fwrite(scores, sizeof(float), N_CLASSES, out);
      fwrite(&label, sizeof(int32_t), 1, out);
    }
    fclose(out);
    return 0;
  }
  predict_fn fn = strcmp(argv[1], "floor") == 0 ? kdedge_empty_predict : PREDICT;
  long warmup_runs = atol(argv[4]), min_runs = atol(argv[6]);
  int64_t warmup_ns = (int64_t)(atof(argv[5]) * 1e9), min_ns = (int64_t)(atof(argv[7]) * 1e9);
  volatile int32_t sink = 0;
  int64_t t0 = now_ns();
  sink += fn(x, scores);
  int64_t first = now_ns() - t0;
  long runs = 0;
  int64_t start = now_ns();
  while (runs < warmup_runs || now_ns() - start < warmup_ns) {
    sink += fn(x + (runs % n) * N_FEATURES, scores);
    runs++;
  }
  long cap = min_runs > 1024 ? min_runs : 1024, count = 0;
  int64_t *times = malloc(sizeof(int64_t) * (size_t)cap);
  start = now_ns();
  while (count < min_runs || (now_ns() - start < min_ns && count < MAX_TIMED)) {
    if (count == cap) { cap *= 2; times = realloc(times, sizeof(int64_t) * (size_t)cap); }
    const float *row = x + (count % n) * N_FEATURES;
    int64_t a = now_ns();
    sink += fn(row, scores);
    times[count++] = now_ns() - a;
  }
  int64_t head[3] = {first, (int64_t)runs, (int64_t)count};
  fwrite(head, sizeof(int64_t), 3, out);
  fwrite(times, sizeof(int64_t), (size_t)count, out);
  fclose(out);
  return sink == 123456789;
}
"""

FLOOR_C = r"""
#include <stdint.h>
int32_t kdedge_empty_predict(const float *input, float *scores) { (void)input; (void)scores; return 0; }
"""

HOST_FLAGS = ("-std=c99", "-O2")
MAX_TIMED = 1_000_000  # timed calls a C row stops at (after min_runs) even before min_seconds: plenty for percentiles
# Code for the CPU at hand (AVX2 here: the int8 MLP kernel ran 4x faster than with x86-64's SSE2 baseline), as a user
# compiling for their own machine would; exact either way, since ISO C99 mode keeps gcc from contracting a*b+c into
# FMA and vectorizing never reorders float sums without -ffast-math. Dropped where the compiler refuses it.
NATIVE = ("-march=native",)


def compiler() -> str:
    found = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not found:
        raise ExportError(
            "no C compiler found (cc, gcc or $CC); install one (Debian: apt-get install gcc, or run "
            "scripts/install-system-deps.sh) to export or bench C students"
        )
    return found


def host_flags() -> tuple[str, ...]:
    """HOST_FLAGS, plus NATIVE when this machine's compiler takes it."""
    return _flags_for(compiler())


@functools.cache
def _flags_for(cc: str) -> tuple[str, ...]:
    with tempfile.TemporaryDirectory(prefix="kdedge-cflags-") as tmp:
        probe = Path(tmp) / "probe.c"
        probe.write_text("int main(void) { return 0; }\n")
        command = [cc, *HOST_FLAGS, *NATIVE, str(probe), "-o", str(Path(tmp) / "probe")]
        done = subprocess.run(command, capture_output=True)
    return (*HOST_FLAGS, *NATIVE) if done.returncode == 0 else HOST_FLAGS


def build_command() -> str:
    """How the C rows and the C parity gate compile here, e.g. `cc -std=c99 -O2 -march=native`."""
    return " ".join([Path(compiler()).name, *host_flags()])


def build(c_file: Path, prefix: str, n_features: int, n_classes: int, out_dir: Path) -> Path:
    """The harness executable for the C pair `c_file` (+ its header beside it), built in `out_dir`."""
    out_dir = Path(out_dir)
    (out_dir / "harness.c").write_text(HARNESS_C)
    (out_dir / "floor.c").write_text(FLOOR_C)
    exe = out_dir / "harness"
    defines = [
        f'-DHEADER="{prefix}.h"',
        f"-DPREDICT={prefix}_predict",
        f"-DN_FEATURES={n_features}",
        f"-DN_CLASSES={n_classes}",
        f"-DMAX_TIMED={MAX_TIMED}L",
    ]
    command = [
        compiler(),
        *host_flags(),
        f"-I{Path(c_file).parent}",
        *defines,
        str(c_file),
        str(out_dir / "harness.c"),
        str(out_dir / "floor.c"),
        "-o",
        str(exe),
        "-lm",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ExportError(f"{c_file}: the C compiler failed: {_first_error(done.stderr)}; please report this as a bug")
    return exe


def _first_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "error" in line] or stderr.splitlines() or ["(no message)"]
    return lines[0].strip()


def _run(exe: Path, mode: str, x: np.ndarray, *args) -> bytes:
    with tempfile.TemporaryDirectory(prefix="kdedge-c-") as tmp:
        rows, out = Path(tmp) / "rows.f32", Path(tmp) / "out.bin"
        np.ascontiguousarray(x.reshape(len(x), -1), np.float32).tofile(rows)
        done = subprocess.run([str(exe), mode, str(rows), str(out), *map(str, args)], capture_output=True, text=True)
        if done.returncode != 0:
            raise ExportError(f"{exe}: the compiled C harness failed ({done.stderr.strip() or done.returncode})")
        return out.read_bytes()


def predict(exe: Path, x: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores (N, K) float32, labels (N,) int64) from the compiled C code."""
    raw = np.frombuffer(_run(exe, "predict", x), dtype=np.uint8).reshape(len(x), 4 * (n_classes + 1))
    scores = raw[:, : 4 * n_classes].copy().view(np.float32)
    labels = raw[:, 4 * n_classes :].copy().view(np.int32).ravel().astype(np.int64)
    return scores, labels


def time_c(
    exe: Path,
    samples: np.ndarray,
    floor: bool = False,
    warmup_runs: int = 10,
    warmup_seconds: float = 0.2,
    min_runs: int = MIN_RUNS,
    min_seconds: float = MIN_SECONDS,
) -> dict:
    """Latency of one predict call (batch 1) timed in C, summarized like the ORT rows."""
    mode = "floor" if floor else "time"
    raw = np.frombuffer(_run(exe, mode, samples, warmup_runs, warmup_seconds, min_runs, min_seconds), np.int64)
    first_ns, runs, count = (int(v) for v in raw[:3])
    return {"threads": 1, "batch": 1, **summarize(first_ns, runs, raw[3 : 3 + count]), "p50_us_per_sample": None}
