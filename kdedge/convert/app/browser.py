"""Run an exported page in headless Chromium: serve its folder on 127.0.0.1, open `index.html?check=...&report=...`,
and take back what the page POSTs (labels and scores of the samples given). Debian's chromium, started with the
flags a closed network needs (no background connections), in a fresh profile folder."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from ...errors import ExportError

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container has no user namespace for the sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
CHECK, REPORT = "/.kdedge-check/samples.json", "/.kdedge-check/report"


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args, samples: bytes, results: list, done: threading.Event, **kwargs):
        self.samples, self.results, self.done = samples, results, done
        super().__init__(*args, **kwargs)

    def log_message(self, *args):  # quiet: the caller reports the outcome
        pass

    def do_GET(self):
        if self.path.split("?")[0] == CHECK:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(self.samples)
            return
        super().do_GET()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()
        if self.path == REPORT:
            self.results.append(json.loads(body))
            self.done.set()


def run_page(folder: Path, x: np.ndarray, model: str = "model.onnx", timeout: float = 90.0, screenshot=None) -> dict:
    """{"labels": [...], "scores": [[...]]} the page computed for the rows of `x`, or ExportError with the page's
    own error. `screenshot`: a PNG path, taken after the page showed the first sample."""
    browser = chromium()
    if browser is None:
        raise ExportError("no chromium here to run the page; install it (scripts/install-system-deps.sh)")
    samples = json.dumps({"x": np.asarray(x, np.float32).reshape(len(x), -1).tolist()}).encode()
    results, done = [], threading.Event()
    handler = partial(_Handler, directory=str(folder), samples=samples, results=results, done=done)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/index.html?model={model}&check={CHECK}&report={REPORT}"
    try:
        with tempfile.TemporaryDirectory(prefix="kdedge-chromium-", ignore_cleanup_errors=True) as profile:
            shot = [f"--screenshot={screenshot}", "--window-size=900,760", "--virtual-time-budget=30000"]
            args = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *(shot if screenshot else []), url]
            # its own process group: chromium's helper processes go with it
            page = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                if not done.wait(timeout):
                    raise ExportError(
                        f"the page in {folder} gave no result within {timeout:.0f} s in headless chromium"
                    )
                if screenshot:
                    page.wait(timeout)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(page.pid, signal.SIGKILL)
                page.wait()
    finally:
        server.shutdown()
        server.server_close()
    result = results[0]
    if "error" in result:
        raise ExportError(f"the page in {folder} failed in chromium: {result['error']}")
    return result


__all__ = ["chromium", "run_page"]
