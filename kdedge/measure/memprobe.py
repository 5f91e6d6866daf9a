"""Run in a fresh process: load a model, run it, print peak RSS. `--baseline` does the same imports only.

The difference of the two peaks is the memory the model itself costs (session, weights, arenas).
Imports nothing but numpy and onnxruntime, so it runs on a board.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys


def peak_rss_kb() -> int:
    # On Linux, ru_maxrss survives exec and so counts the forked parent's pages; VmHWM belongs to this image.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS reports bytes, Linux kilobytes


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--optimization", default="all", choices=["disable", "basic", "extended", "all"])
    parser.add_argument("--baseline", action="store_true")
    args = parser.parse_args(argv)
    import numpy as np
    import onnxruntime  # noqa: F401  (the baseline pays for this import too)

    if not args.baseline:
        from .latency import make_session  # numpy + onnxruntime only, like this probe

        session = make_session(args.model, args.threads, optimization=args.optimization)
        inp = session.get_inputs()[0]
        shape = [1] + [d if isinstance(d, int) else 1 for d in inp.shape[1:]]
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        for _ in range(args.runs):
            session.run(None, {inp.name: x})
    print(json.dumps({"peak_rss_kb": peak_rss_kb()}))


if __name__ == "__main__":
    main()
