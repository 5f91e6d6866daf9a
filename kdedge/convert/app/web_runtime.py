"""onnxruntime-web for the exported page: the WebAssembly build's three files, taken from the npm registry's
package with `npm pack` into kdedge's cache folder once, then copied into RUN/web/ort/ so the page runs offline.
Without npm (and nothing cached) the page loads the same version from the jsDelivr CDN instead."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ORT_WEB_VERSION = "1.31.1"  # the newest onnxruntime-web release at writing; reads opset 18 graphs as onnxruntime does
FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
CDN = f"https://cdn.jsdelivr.net/npm/onnxruntime-web@{ORT_WEB_VERSION}/dist/"


def runtime_dir() -> Path:
    from ...target_cache import cache_root

    return cache_root() / "onnxruntime-web" / ORT_WEB_VERSION


def runtime_files() -> dict[str, bytes] | None:
    """The runtime's files by name, fetched with npm when not cached yet; None when npm is not there to fetch them."""
    folder = runtime_dir()
    if not all((folder / name).is_file() for name in FILES):
        if shutil.which("npm") is None:
            return None
        _fetch(folder)
    return {name: (folder / name).read_bytes() for name in FILES}


def _fetch(folder: Path) -> None:
    from ...errors import ExportError

    with tempfile.TemporaryDirectory(prefix="kdedge-ort-web-") as tmp:
        done = subprocess.run(
            ["npm", "pack", f"onnxruntime-web@{ORT_WEB_VERSION}", "--pack-destination", tmp, "--silent"],
            capture_output=True,
            text=True,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ExportError(
                f"npm pack onnxruntime-web@{ORT_WEB_VERSION} failed ({last}); check the npm registry is reachable, "
                f"or put {', '.join(FILES)} from the package's dist/ into {folder}"
            )
        folder.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=".partial-", dir=folder.parent))  # same file system: renamed whole
        with tarfile.open(tarballs[0]) as tar:  # only the three named members, never a path from the archive
            for name in FILES:
                member = tar.extractfile(f"package/dist/{name}")
                (staged / name).write_bytes(member.read())
        if folder.exists():  # another process cached it meanwhile
            shutil.rmtree(staged)
        else:
            staged.rename(folder)


__all__ = ["CDN", "FILES", "ORT_WEB_VERSION", "runtime_dir", "runtime_files"]
