"""What a fault case is and what it runs in: a private folder of copied runs, files damaged on purpose, and the checks
every case shares (exit 2, one line, no traceback, nothing new, nothing changed)."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).parents[2]
FAST_BENCH = ("--min-runs", 1, "--min-seconds", 0, "--no-memory")


@dataclass(frozen=True)
class Case:
    """`argv(ws)` builds the files the case needs inside `ws` and returns the command line; the one line printed must
    contain `says`."""

    name: str
    argv: Callable[[Workspace], Sequence]
    says: str


@dataclass
class Workspace:
    root: Path
    made: dict
    copies: dict = field(default_factory=dict)

    def run(self, name: str) -> Path:
        """A private copy of a made run (the same copy for every call in one case)."""
        if name not in self.copies:
            self.copies[name] = Path(shutil.copytree(self.made[name], self.root / "runs" / name))
        return self.copies[name]

    def file(self, name: str, content: bytes | str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    def folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def npz(self, name: str, **arrays) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **arrays)
        return path

    def npy(self, name: str, array, allow_pickle: bool = False) -> Path:
        path = self.root / name
        np.save(path, array, allow_pickle=allow_pickle)
        return path

    def edit_manifest(self, run: Path, edit) -> None:
        manifest = json.loads((run / "kdedge.json").read_text())
        edit(manifest)
        (run / "kdedge.json").write_text(json.dumps(manifest))

    def edited(self, name: str, edit) -> Path:
        """A copy of run `name` whose manifest `edit(dict)` changed."""
        run = self.run(name)
        self.edit_manifest(run, edit)
        return run

    def replaced(self, name: str, file: str, content: bytes | str) -> Path:
        """A copy of run `name` whose `file` holds `content` instead."""
        run = self.run(name)
        (run / file).write_bytes(content.encode() if isinstance(content, str) else content)
        return run

    def without(self, name: str, file: str) -> Path:
        """A copy of run `name` with `file` deleted."""
        run = self.run(name)
        (run / file).unlink()
        return run

    def truncate(self, path: Path, keep: float = 0.5) -> Path:
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])
        return path

    def truncated(self, name: str, file: str, keep: float = 0.5, fingerprinted: bool = True) -> Path:
        """A copy of run `name` with `file` cut short. Not `fingerprinted`: as a run written before weights were
        fingerprinted, so that the format's own parser meets the damaged file."""
        run = self.run(name)
        self.truncate(run / file, keep)
        if not fingerprinted:
            self.edit_manifest(run, lambda m: m.update(weights_sha256=""))
        return run


def given(setup, argv):
    """`argv`, once `setup` (evaluated first, as Python evaluates arguments in order) has made what the case needs:
    `given(ws.file("notes.txt", "mine"), distill(ws, out="notes.txt"))`."""
    return argv


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def one_line(result) -> str:
    """The single `error: ...` line a cleanly failing command printed (exit 2, nothing on stdout, no traceback)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert result.stdout.strip() == "", result.stdout
    assert "Traceback" not in result.output
    return lines[0]


# -- damaged inputs ---------------------------------------------------------------------------------------------------


def xy(n=60, classes=3, features=8):
    """A small labelled vector set: n samples of `features` floats, labels 0..classes-1 in turn."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, features)).astype(np.float32), np.arange(n) % classes


def digits_x(n=2):
    """Inputs shaped like the digits runs' (N, 1, 8, 8)."""
    return np.zeros((n, 1, 8, 8), np.float32)


def png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels (what a decompression bomb looks like to a reader)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def image_folder(ws: Workspace, classes=("a", "b"), per_class=3, extra: dict | None = None) -> Path:
    """`img/CLASS/i.png` 8x8 grey images; `extra` adds files (relative name -> bytes)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buffer, format="PNG")
    for cls in classes:
        for i in range(per_class):
            ws.file(f"img/{cls}/{i}.png", buffer.getvalue())
    for name, content in (extra or {}).items():
        ws.file(f"img/{name}", content)
    return ws.root / "img"


def onnx_with_metadata(ws: Workspace, key: str, value: str) -> Path:
    import onnx

    path = ws.run("mlp") / "model.onnx"
    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == key:
            prop.value = value
    onnx.save(model, str(path))
    return path


def swap_teacher_weights(ws: Workspace) -> Path:
    """Same shapes, other numbers: what a teacher retrained in place, or replaced by hand, looks like."""
    from safetensors.numpy import load_file, save_file

    teacher = ws.run("teacher")
    weights = teacher / json.loads((teacher / "kdedge.json").read_text())["weights"][0]
    state = load_file(str(weights))
    save_file({k: v + 0.01 if v.dtype.kind == "f" else v for k, v in state.items()}, str(weights))
    return teacher


def skops_dict(ws: Workspace) -> Path:
    import skops.io

    from kdedge.runs import sha256_files

    run = ws.run("tree")
    skops.io.dump({"not": "a model"}, run / "pipeline.skops")
    manifest = json.loads((run / "kdedge.json").read_text())
    ws.edit_manifest(run, lambda m: m.update(weights_sha256=sha256_files(run, manifest["weights"])))
    return run


def quick_recipe(ws: Workspace, name: str = "r.toml", extra: str = "") -> Path:
    """A copy of the shipped `quick` recipe, with `extra` TOML appended."""
    return ws.file(name, (REPO / "recipes" / "quick.toml").read_text() + extra)


def recipe(ws: Workspace, text: str, name: str = "r.toml") -> Path:
    return ws.file(name, text)


MINIMAL_RECIPE = (
    'description = "a tree from a 1-epoch teacher"\n\n[data]\nname = "digits"\n\n'
    '[teacher]\narch = "cnn"\nepochs = 1\n\n'
    '[[students]]\nname = "tree"\nfamily = "tree"\nmethod = "logits"\nmax_depth = 2\n'
)
