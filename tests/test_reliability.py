"""Nothing lost, nothing crashes (issue #13): every bad input, damaged file and second writer ends in exactly one line
on stderr and exit 2, and every file that was there before is byte-identical afterwards (nothing new left behind).

Each case builds real files in its own folder (copies of the session's runs, damaged on purpose), runs the CLI as a
user types it (CliRunner), and compares a snapshot of the folder before and after.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kdedge.cli import app
from kdedge.errors import RunError
from kdedge.outputs import writing

runner = CliRunner()
FAST_BENCH = ("--min-runs", 1, "--min-seconds", 0, "--no-memory")


@pytest.fixture(scope="module")
def made(tmp_path_factory, teacher_run, kd_mlp_run):
    """The session's teacher and KD MLP, plus a tree (skops) and a LightGBM student: the runs cases copy."""
    from kdedge.api import distill

    root = tmp_path_factory.mktemp("made")
    runs = {"teacher": teacher_run.path, "mlp": kd_mlp_run.path}
    for family, options in (("tree", {"max_depth": 4}), ("gbdt", {"n_estimators": 5, "num_leaves": 4})):
        runs[family] = distill(teacher_run.path, out=root / family, student=family, method="logits", **options).path
    return runs


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

    def npz(self, name: str, **arrays) -> Path:
        path = self.root / name
        np.savez(path, **arrays)
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


def _digits_xy(n=60, classes=3):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 8)).astype(np.float32), np.arange(n) % classes


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels (what a decompression bomb looks like to a reader)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def _bench(ws, *extra):
    return ["bench", ws.run("mlp"), *FAST_BENCH, *extra]


def _onnx_with_metadata(ws, key, value):
    import onnx

    path = ws.run("mlp") / "model.onnx"
    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == key:
            prop.value = value
    onnx.save(model, str(path))
    return path


def _swap_teacher_weights(ws):
    """Same shapes, other numbers: what a teacher retrained in place, or replaced by hand, looks like."""
    from safetensors.numpy import load_file, save_file

    teacher = ws.run("teacher")
    weights = teacher / json.loads((teacher / "kdedge.json").read_text())["weights"][0]
    state = load_file(str(weights))
    save_file({k: v + 0.01 if v.dtype.kind == "f" else v for k, v in state.items()}, str(weights))
    return teacher


def _skops_dict(ws):
    import skops.io

    from kdedge.runs import sha256_files

    run = ws.run("tree")
    skops.io.dump({"not": "a model"}, run / "pipeline.skops")
    manifest = json.loads((run / "kdedge.json").read_text())
    ws.edit_manifest(run, lambda m: m.update(weights_sha256=sha256_files(run, manifest["weights"])))
    return run


def _factory(ws, source: str) -> list:
    """`teacher eval` of a weights file whose --factory is a file of the user's code (`source`)."""
    factory = ws.file("f.py", source)
    return ["teacher", "eval", ws.file("w.safetensors", b"x"), "--factory", f"{factory}:build", "--data", "digits"]


def _image_folder(ws) -> Path:
    """Two classes of three images each; one image's header claims 30000 x 30000 pixels."""
    for cls in ("a", "b"):
        for i in range(3):
            ws.file(f"img/{cls}/{i}.png", _png_header_only(8, 8))
    ws.file("img/b/3.png", _png_header_only(30000, 30000))
    return ws.root / "img"


def _sweep_recipe(ws):
    return ws.file("r.toml", (Path(__file__).parents[1] / "recipes" / "quick.toml").read_text())


# (id, build(ws) -> CLI args, a fragment the one line must hold)
CASES = [
    # -- data lost: outputs that would replace what the user (or a run) owns --------------------------------------
    ("bench-json-onto-manifest", lambda ws: _bench(ws, "--out", ws.run("mlp") / "kdedge.json"), "kdedge folder"),
    (
        "bench-json-onto-weights",
        lambda ws: _bench(ws, "--out", ws.run("mlp") / "model.onnx", "--overwrite"),
        "kdedge folder",
    ),
    ("bench-csv-existing", lambda ws: _bench(ws, "--csv", ws.file("mine.csv", "a,b\n")), "already exists"),
    (
        "bench-csv-foreign-overwrite",
        lambda ws: _bench(ws, "--csv", ws.file("mine.csv", "a,b\n"), "--overwrite"),
        "not written by kdedge",
    ),
    ("bench-json-folder", lambda ws: _bench(ws, "--out", ws.file("d/keep", "x").parent), "is a folder"),
    (
        "predict-out-existing",
        lambda ws: [
            "predict",
            ws.run("mlp") / "model.onnx",
            ws.npz("x.npz", x=np.zeros((2, 1, 8, 8))),
            "--out",
            ws.file("mine.csv", "mine\n"),
        ],
        "already exists",
    ),
    (
        "predict-out-foreign-overwrite",
        lambda ws: [
            "predict",
            ws.run("mlp") / "model.onnx",
            ws.npz("x.npz", x=np.zeros((2, 1, 8, 8))),
            "--out",
            ws.file("mine.csv", "mine\n"),
            "--overwrite",
        ],
        "not written by kdedge",
    ),
    (
        "predict-out-folder",
        lambda ws: [
            "predict",
            ws.run("mlp") / "model.onnx",
            ws.npz("x.npz", x=np.zeros((2, 1, 8, 8))),
            "--out",
            ws.file("d/keep", "x").parent,
        ],
        "is a folder",
    ),
    (
        "report-out-existing",
        lambda ws: ["report", ws.run("mlp").parent, "--out", ws.file("page.html", "<p>mine</p>")],
        "already exists",
    ),
    (
        "report-out-foreign-overwrite",
        lambda ws: ["report", ws.run("mlp").parent, "--out", ws.file("page.html", "<p>mine</p>"), "--overwrite"],
        "not written by kdedge",
    ),
    (
        "report-out-folder",
        lambda ws: ["report", ws.run("mlp").parent, "--out", ws.file("d/keep", "x").parent],
        "is a folder",
    ),
    (
        "distill-overwrite-foreign-folder",
        lambda ws: [
            "distill",
            "--teacher",
            ws.run("teacher"),
            "--epochs",
            1,
            "--out",
            ws.file("photos/cat.jpg", "meow").parent,
            "--overwrite",
        ],
        "not a kdedge folder",
    ),
    (
        "distill-overwrite-file",
        lambda ws: [
            "distill",
            "--teacher",
            ws.run("teacher"),
            "--epochs",
            1,
            "--out",
            ws.file("notes.txt", "mine"),
            "--overwrite",
        ],
        "is a file",
    ),
    (
        "distill-out-existing-run",
        lambda ws: ["distill", "--teacher", ws.run("teacher"), "--epochs", 1, "--out", ws.run("mlp")],
        "already exists",
    ),
    (
        "teacher-train-overwrite-foreign",
        lambda ws: [
            "teacher",
            "train",
            "--epochs",
            1,
            "--out",
            ws.file("photos/cat.jpg", "meow").parent,
            "--overwrite",
        ],
        "not a kdedge folder",
    ),
    (
        "ensemble-overwrite-foreign",
        lambda ws: ["ensemble", ws.run("mlp"), "--out", ws.file("photos/cat.jpg", "meow").parent, "--overwrite"],
        "not a kdedge folder",
    ),
    (
        "run-overwrite-foreign",
        lambda ws: ["run", "quick", "--out", ws.file("photos/cat.jpg", "meow").parent, "--overwrite"],
        "not a kdedge folder",
    ),
    (
        "sweep-out-file",
        lambda ws: ["sweep", _sweep_recipe(ws), "--grid", "seed=0,1", "--out", ws.file("notes.txt", "mine")],
        "is a file",
    ),
    # -- damaged data ----------------------------------------------------------------------------------------------
    (
        "npz-truncated",
        lambda ws: [
            "teacher",
            "train",
            "--epochs",
            1,
            "--out",
            ws.root / "t",
            "--data",
            ws.truncate(ws.npz("d.npz", x=_digits_xy(3000)[0], y=_digits_xy(3000)[1]), 0.6),
        ],
        ".npz",
    ),
    (
        "labels-nan",
        lambda ws: [
            "teacher",
            "train",
            "--arch",
            "mlp",
            "--epochs",
            1,
            "--out",
            ws.root / "t",
            "--data",
            ws.npz("d.npz", x=_digits_xy()[0], y=np.where(np.arange(60) == 5, np.nan, np.arange(60) % 3)),
        ],
        "NaN/Inf",
    ),
    (
        "labels-inf",
        lambda ws: [
            "teacher",
            "train",
            "--arch",
            "mlp",
            "--epochs",
            1,
            "--out",
            ws.root / "t",
            "--data",
            ws.npz("d.npz", x=_digits_xy()[0], y=np.where(np.arange(60) == 5, np.inf, np.arange(60) % 3)),
        ],
        "NaN/Inf",
    ),
    (
        "labels-huge",
        lambda ws: [
            "teacher",
            "train",
            "--arch",
            "mlp",
            "--epochs",
            1,
            "--out",
            ws.root / "t",
            "--data",
            ws.npz("d.npz", x=_digits_xy()[0], y=np.where(np.arange(60) == 5, 2**40, np.arange(60) % 3)),
        ],
        "class indices",
    ),
    (
        "one-class",
        lambda ws: [
            "teacher",
            "train",
            "--arch",
            "mlp",
            "--epochs",
            1,
            "--out",
            ws.root / "t",
            "--data",
            ws.npz("d.npz", x=_digits_xy()[0], y=np.zeros(60, np.int64)),
        ],
        "two classes",
    ),
    (
        "complex-x",
        lambda ws: [
            "teacher",
            "train",
            "--arch",
            "mlp",
            "--epochs",
            1,
            "--out",
            ws.root / "t",
            "--data",
            ws.npz("d.npz", x=_digits_xy()[0] * (1 + 1j), y=_digits_xy()[1]),
        ],
        "complex",
    ),
    (
        "png-bomb",
        lambda ws: ["teacher", "train", "--epochs", 1, "--out", ws.root / "t", "--data", _image_folder(ws)],
        "DecompressionBomb",
    ),
    (
        "pool-truncated",
        lambda ws: [
            "distill",
            "--teacher",
            ws.run("teacher"),
            "--epochs",
            1,
            "--out",
            ws.root / "s",
            "--transfer",
            "pool",
            "--pool",
            ws.truncate(ws.npz("pool.npz", x=np.zeros((500, 1, 8, 8))), 0.5),
        ],
        "pool.npz",
    ),
    (
        "predict-binary-csv",
        lambda ws: ["predict", ws.run("mlp") / "model.onnx", ws.file("x.csv", bytes(range(256)) * 4)],
        "x.csv",
    ),
    (
        "predict-complex",
        lambda ws: ["predict", ws.run("mlp") / "model.onnx", ws.npz("x.npz", x=np.zeros((2, 1, 8, 8)) * 1j)],
        "x.npz",
    ),
    # -- damaged runs, records and graphs --------------------------------------------------------------------------
    ("safetensors-truncated", lambda ws: ["export", ws.truncated("mlp", "weights.safetensors")], "changed since"),
    (
        "safetensors-truncated-unfingerprinted",
        lambda ws: ["export", ws.truncated("mlp", "weights.safetensors", fingerprinted=False)],
        "cannot load",
    ),
    (
        "skops-truncated",
        lambda ws: ["export", ws.truncated("tree", "pipeline.skops", fingerprinted=False)],
        "cannot load",
    ),
    ("skops-dict", lambda ws: ["export", _skops_dict(ws)], "holds a dict"),
    (
        "lightgbm-truncated",
        lambda ws: ["export", ws.truncated("gbdt", "gbdt_0.txt", keep=0.3, fingerprinted=False)],
        "truncated LightGBM",
    ),
    (
        "teacher-weights-swapped",
        lambda ws: ["distill", "--teacher", _swap_teacher_weights(ws), "--epochs", 1, "--out", ws.root / "s"],
        "changed since",
    ),
    ("manifest-no-student", lambda ws: ["export", ws.edited("mlp", lambda m: m.pop("student"))], "student"),
    (
        "manifest-hidden-abc",
        lambda ws: ["export", ws.edited("mlp", lambda m: m["student"]["params"].update(hidden="abc"))],
        "hidden",
    ),
    (
        "manifest-sample-shape",
        lambda ws: ["export", ws.edited("mlp", lambda m: m["data"].update(sample_shape=[1, 4, 4]))],
        "mlp",
    ),
    ("manifest-not-json", lambda ws: ["export", ws.file("runs/x/kdedge.json", "{").parent], "kdedge.json"),
    (
        "report-family-5",
        lambda ws: [
            "report",
            ws.edited("mlp", lambda m: m.update(family=5)).parent,
            "--out",
            ws.root / "r.html",
        ],
        "family",
    ),
    (
        "onnx-metadata-not-json",
        lambda ws: [
            "predict",
            _onnx_with_metadata(ws, "kdedge.class_names", "zero, one"),
            ws.npz("x.npz", x=np.zeros((2, 1, 8, 8))),
        ],
        "class_names",
    ),
    (
        "bench-run-truncated-onnx",
        lambda ws: _bench(ws) if ws.truncate(ws.run("mlp") / "model.onnx") else None,
        "model.onnx",
    ),
    (
        "recipe-json-corrupt",
        lambda ws: ["run", ws.file("old/recipe.json", '{"name": "q"').parent, "--out", ws.root / "new"],
        "recipe.json",
    ),
    (
        "recipe-not-utf8",
        lambda ws: ["run", ws.file("r.toml", b'description = "\xff\xfe"\n'), "--out", ws.root / "o"],
        "UTF-8",
    ),
    (
        "profile-not-utf8",
        lambda ws: ["export", ws.run("mlp"), "--target", ws.file("p.toml", b'description = "\xff"\n')],
        "UTF-8",
    ),
    (
        "sweep-json-corrupt",
        lambda ws: ["sweep", _sweep_recipe(ws), "--grid", "seed=0,1", "--out", ws.file("sw/sweep.json", "{").parent],
        "sweep.json",
    ),
    ("factory-raises", lambda ws: _factory(ws, 'def build():\n    raise RuntimeError("no GPU here")\n'), "no GPU here"),
    ("factory-syntax-error", lambda ws: _factory(ws, "def build(:\n"), "SyntaxError"),
    # -- values refused before any work ----------------------------------------------------------------------------
    (
        "hidden-0",
        lambda ws: ["distill", "--teacher", ws.run("teacher"), "--hidden", "0", "--out", ws.root / "s"],
        "hidden",
    ),
    (
        "hidden-0-in-new-folders",
        lambda ws: [
            "distill",
            "--teacher",
            ws.run("teacher"),
            "--hidden",
            "0",
            "--out",
            ws.root / "new" / "deeper" / "s",
        ],
        "hidden",
    ),
    (
        "hidden-negative",
        lambda ws: ["distill", "--teacher", ws.run("teacher"), "--hidden", "64,-1", "--out", ws.root / "s"],
        "hidden",
    ),
    ("ensemble-vote-bogus", lambda ws: ["ensemble", ws.run("mlp"), "--out", ws.root / "e", "--vote", "bogus"], "vote"),
    ("teacher-eval-threads-0", lambda ws: ["teacher", "eval", ws.run("teacher"), "--threads", 0], "--threads 0"),
    (
        "predict-threads-negative",
        lambda ws: [
            "predict",
            ws.run("mlp") / "model.onnx",
            ws.npz("x.npz", x=np.zeros((2, 1, 8, 8))),
            "--threads",
            -1,
        ],
        "--threads -1",
    ),
    ("bench-threads-0", lambda ws: _bench(ws, "--threads", 0), "--threads"),
    ("bench-min-runs-negative", lambda ws: ["bench", ws.run("mlp"), "--min-runs", -1], "--min-runs -1"),
    ("bench-min-seconds-negative", lambda ws: ["bench", ws.run("mlp"), "--min-seconds", -1], "--min-seconds -1"),
    ("export-opset-99", lambda ws: ["export", ws.run("mlp"), "--opset", 99], "opset 99"),
    (
        "sweep-jobs-0",
        lambda ws: ["sweep", _sweep_recipe(ws), "--grid", "seed=0,1", "--jobs", 0, "--out", ws.root / "sw"],
        "--jobs 0",
    ),
    (
        "search-jobs-0",
        lambda ws: ["search", "--teacher", ws.run("teacher"), "--out", ws.root / "se", "--jobs", 0],
        "--jobs 0",
    ),
    (
        "search-space-empty",
        lambda ws: [
            "search",
            "--teacher",
            ws.run("teacher"),
            "--out",
            ws.root / "se",
            "--space",
            ws.file("space.toml", ""),
        ],
        "no families",
    ),
    (
        "search-space-list-choice",
        lambda ws: [
            "search",
            "--teacher",
            ws.run("teacher"),
            "--out",
            ws.root / "se",
            "--space",
            ws.file("space.toml", "[mlp]\nhidden = [[64, 32]]\n"),
        ],
        "one value",
    ),
    (
        "search-space-bad-value",
        lambda ws: [
            "search",
            "--teacher",
            ws.run("teacher"),
            "--out",
            ws.root / "se",
            "--space",
            ws.file("space.toml", "[mlp]\nhidden = [0]\n"),
        ],
        "hidden",
    ),
]


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def _one_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("build, fragment", [pytest.param(b, f, id=i) for i, b, f in CASES])
def test_fails_cleanly_and_keeps_every_file(tmp_path, made, build, fragment):
    ws = Workspace(tmp_path, made)
    args = [str(a) for a in build(ws)]
    before = _snapshot(tmp_path)
    result = runner.invoke(app, args)
    line = _one_line(result)
    assert fragment in line, line
    assert _snapshot(tmp_path) == before  # byte-identical, and nothing new (no lock, no .partial) left behind


def test_out_dot_overwrite_refuses_the_folder_you_are_in(tmp_path, made, monkeypatch):
    ws = Workspace(tmp_path, made)
    run, teacher = ws.run("mlp"), ws.run("teacher")  # even a kdedge run: replacing the folder you are in is refused
    monkeypatch.chdir(run)
    before = _snapshot(tmp_path)
    line = _one_line(runner.invoke(app, ["distill", "--teacher", str(teacher), "--out", ".", "--overwrite"]))
    assert "the folder you are in" in line
    assert _snapshot(tmp_path) == before


def test_overwrite_replaces_what_kdedge_wrote(tmp_path, made):
    """--overwrite still works on kdedge's own files: a predictions CSV written by predict."""
    ws = Workspace(tmp_path, made)
    x, out = ws.npz("x.npz", x=np.zeros((2, 1, 8, 8))), tmp_path / "pred.csv"
    model = ws.run("mlp") / "model.onnx"
    assert runner.invoke(app, ["predict", str(model), str(x), "--out", str(out)]).exit_code == 0
    first = out.read_bytes()
    again = runner.invoke(app, ["predict", str(model), str(x), "--out", str(out), "--overwrite"])
    assert again.exit_code == 0, again.output
    assert out.read_bytes() == first


def test_opset_recorded_is_the_graphs(tmp_path, made):
    import onnx

    ws = Workspace(tmp_path, made)
    run = ws.run("tree")
    result = runner.invoke(app, ["export", str(run), "--opset", "17", "--json"])
    assert result.exit_code == 0, result.output
    graph = onnx.load(str(run / "model.onnx"))
    written = max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx"))
    assert json.loads(result.stdout)[str(run)]["opset"] == written
    assert json.loads((run / "kdedge.json").read_text())["export"]["opset"] == written
    assert graph.graph.name == "kdedge_tree"  # not skl2onnx's random uuid: the same model gives the same bytes


def test_bench_says_when_a_students_teacher_changed(tmp_path, made):
    from kdedge.measure.runs import bench_entries

    ws = Workspace(tmp_path, made)
    teacher, student = ws.run("teacher"), ws.run("mlp")
    ws.edit_manifest(student, lambda m: m["teacher"].update(path=str(teacher.resolve()), fingerprint="0" * 16))
    _, _, notes = bench_entries([student, teacher])
    assert any("distill it again" in n and str(student) in n for n in notes), notes


# -- full disk, read-only folders: one line, nothing half-built ------------------------------------------------------


def _failing_replace(code):
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if not str(Path(dst).name).startswith("."):  # the final rename into place: where a full disk is felt
            raise OSError(code, os.strerror(code), str(dst))
        return real(src, dst, *args, **kwargs)

    return replace


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES], ids=["full", "read-only", "denied"])
def test_write_refused_by_the_file_system(tmp_path, made, monkeypatch, code):
    ws = Workspace(tmp_path, made)
    teacher = ws.run("teacher")
    before = _snapshot(tmp_path)
    monkeypatch.setattr("kdedge._io.os.replace", _failing_replace(code))
    # --method hard: no teacher outputs, so the first write is the run folder (a cache entry is another path)
    args = ["distill", "--teacher", str(teacher), "--method", "hard", "--epochs", "1", "--hidden", "8"]
    line = _one_line(runner.invoke(app, [*args, "--out", str(tmp_path / "s")]))
    assert os.strerror(code) in line and str(tmp_path / "s") in line
    assert _snapshot(tmp_path) == before  # no .partial folder, no lock file


def test_recipe_run_into_a_full_disk_leaves_no_half_folder(tmp_path, monkeypatch):
    def full(path, payload):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("kdedge.recipes.runner.write_json", full)
    line = _one_line(runner.invoke(app, ["run", "quick", "--out", str(tmp_path / "r")]))
    assert "No space left" in line
    assert list(tmp_path.iterdir()) == []


# -- one writer per folder ---------------------------------------------------------------------------------------------


def test_second_writer_in_another_thread_fails_at_once(tmp_path):
    folder, held, done = tmp_path / "run", threading.Event(), threading.Event()

    def hold():
        with writing(folder):
            held.set()
            done.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        expected = rf"{folder.name} is being written by another kdedge command \(pid {os.getpid()}\)"
        with pytest.raises(RunError, match=expected), writing(folder):
            pass
    finally:
        done.set()
        holder.join()
    with writing(folder):  # released: the next writer gets it
        pass
    assert list(tmp_path.iterdir()) == []  # the lock leaves nothing behind


def test_second_distill_into_one_folder_fails_while_the_first_runs(tmp_path, made):
    """Two real processes: the second names the folder and the first one's pid, exits 2, and the first's output
    is not touched; after the first is killed (-9), its leftovers go and the folder is usable again."""
    out = tmp_path / "s"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "kdedge.cli", "distill", "--teacher", str(made["teacher"]), "--epochs", "100000"]
    first = subprocess.Popen([*cmd, "--out", str(out)], env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".s.*.partial")):  # training has begun, inside the lock
            assert first.poll() is None and time.monotonic() < deadline, "the first distill did not start"
            time.sleep(0.2)
        line = _one_line(runner.invoke(app, [*[str(c) for c in cmd[3:]], "--epochs", "1", "--out", str(out)]))
        assert f"{out} is being written by another kdedge command (pid {first.pid})" in line
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert list(tmp_path.glob(".s.*.partial")), "kill -9 leaves the half-built folder"
    with writing(out):  # the next command on the folder clears what the killed one left
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_bug_is_one_line_and_exit_1_unless_debugging(tmp_path, made, monkeypatch):
    def broken(path):
        raise ZeroDivisionError("division by zero in a helper")

    monkeypatch.setattr("kdedge.predict.model_info", broken)
    args = ["predict", str(made["mlp"] / "model.onnx"), str(tmp_path / "x.npy")]
    monkeypatch.delenv("KDEDGE_DEBUG", raising=False)
    result = runner.invoke(app, args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.stderr
    assert "unexpected ZeroDivisionError: division by zero in a helper" in lines[0] and "--debug" in lines[0]
    result = runner.invoke(app, ["--debug", *args])
    assert result.exit_code == 1 and isinstance(result.exception, ZeroDivisionError)  # the traceback is kept


def test_search_killed_mid_trial_resumes_without_a_stuck_or_repeated_trial(tmp_path, made):
    """kill -9 during a trial: the resumed search marks it failed (not RUNNING forever), and no trial of the study
    trains settings an earlier one already drew (a repeat is pruned, naming the earlier trial)."""
    import optuna

    from kdedge.budget_search.study import STUDY_NAME, _storage

    out = tmp_path / "se"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "OMP_NUM_THREADS": "1"}
    args = ["--families", "tree", "--max-size-kb", "10000", "--min-seconds", "1"]  # >= 1 s in a trial: caught
    cmd = [sys.executable, "-m", "kdedge.cli", "search", "--teacher", str(made["teacher"]), "--out", str(out)]
    first = subprocess.Popen(
        [*cmd, "--trials", "5", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def trials():
        return optuna.load_study(study_name=STUDY_NAME, storage=_storage(out)).trials

    try:
        deadline = time.monotonic() + 180
        while not ((out / "study.db").is_file() and any(t.state.name == "RUNNING" for t in trials())):
            assert first.poll() is None and time.monotonic() < deadline, "the search did not start a trial"
            time.sleep(0.3)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    killed = [t.number for t in trials() if t.state.name == "RUNNING"]
    result = runner.invoke(app, ["search", "--resume", str(out), "--trials", "2"])
    assert result.exit_code == 0, result.output
    after = {t.number: t for t in trials()}
    assert all(after[n].state.name == "FAIL" and "killed" in after[n].user_attrs["reason"] for n in killed)
    assert not any(t.state.name == "RUNNING" for t in after.values())
    trained = [t for t in after.values() if t.state.name == "COMPLETE"]
    assert len({json.dumps(t.params, sort_keys=True) for t in trained}) == len(trained)  # no settings trained twice


def test_sweep_workers_die_with_a_killed_sweep(tmp_path):
    psutil = pytest.importorskip("psutil")
    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "kdedge.cli", "sweep", "quick", "--grid", "seed=0,1", "--jobs", "2"]
    sweep = subprocess.Popen(
        [*cmd, "--out", str(tmp_path / "sw")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while len(workers := psutil.Process(sweep.pid).children(recursive=True)) < 2:  # the pool's two workers
            assert sweep.poll() is None and time.monotonic() < deadline, "the sweep did not start its workers"
            time.sleep(0.2)
        time.sleep(1)  # the workers arm their parent-death signal as they start
        workers = psutil.Process(sweep.pid).children(recursive=True)
    finally:
        sweep.send_signal(signal.SIGKILL)
        sweep.wait()
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, f"workers outlived the killed sweep: {[p.pid for p in alive]}"


FACTORY = """
from kdedge import nets

def build():
    return nets.build("cnn", (1, 8, 8), 10, [[[0.0]]], [[[1.0]]], channels=(32, 64, 64))
"""


def _factory_recipe(ws) -> Path:
    """A recipe whose teacher is a weights file built by a factory: the factory file's code runs."""
    shutil.copy(ws.made["teacher"] / "weights.safetensors", ws.root / "teacher.safetensors")
    factory = ws.file("build_teacher.py", FACTORY)
    return ws.file(
        "r.toml",
        f'description = "a factory teacher"\n\n[data]\nname = "digits"\n\n[teacher]\npath = "teacher.safetensors"\n'
        f'factory = "{factory}:build"\n\n'
        '[[students]]\nname = "tree"\nfamily = "tree"\nmethod = "logits"\nmax_depth = 4\n\n'
        "[bench]\nmemory = false\nmin_runs = 1\nmin_seconds = 0.01\n",
    )


def test_a_recipe_factory_runs_only_with_trust_code(tmp_path, made):
    ws = Workspace(tmp_path, made)
    recipe, out = _factory_recipe(ws), tmp_path / "out"
    before = _snapshot(tmp_path)
    for command in (["run", recipe, "--out", out], ["sweep", recipe, "--grid", "seed=0,1", "--out", out]):
        line = _one_line(runner.invoke(app, [str(a) for a in command]))
        assert "teacher.factory" in line and "--trust-code" in line
        assert _snapshot(tmp_path) == before
    result = runner.invoke(app, ["run", str(recipe), "--out", str(out), "--trust-code"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "recipe.json").read_text())["trusted_code"] is True
    replay = runner.invoke(app, ["run", str(out), "--out", str(tmp_path / "again")])  # a copied run: consent again
    assert replay.exit_code == 2 and "--trust-code" in replay.stderr


def test_export_after_a_killed_export_clears_its_temporary_file(tmp_path, made):
    """kill -9 inside `atomic_path` leaves RUN/.model.onnx.XXXXXXXX.partial; the next writer of the run removes it."""
    ws = Workspace(tmp_path, made)
    run = ws.run("tree")
    stale = ws.file(f"runs/tree/.model.onnx.{'k' * 8}.partial", b"half a graph")
    result = runner.invoke(app, ["export", str(run)])
    assert result.exit_code == 0, result.output
    assert not stale.exists()
    assert sorted(p.name for p in run.parent.iterdir()) == ["tree"]  # and no lock file beside the run


@pytest.mark.parametrize(
    "family, options",
    [("forest", {"n_estimators": 3}), ("svm", {}), ("tree", {"max_depth": 4}), ("gbdt", {"n_estimators": 3})],
)
def test_same_seed_same_weight_bytes(tmp_path, teacher_run, family, options):
    """Caches and chains key on weights_sha256: two fits with one seed must write the same bytes in every family."""
    from kdedge.api import distill

    a, b = (
        distill(teacher_run.path, out=tmp_path / name, student=family, method="logits", seed=3, **options)
        for name in ("a", "b")
    )
    assert a.manifest.weights_sha256 == b.manifest.weights_sha256
    for name in a.manifest.weights:
        assert (a.path / name).read_bytes() == (b.path / name).read_bytes(), name


def test_folder_records_name_every_kind_of_kdedge_folder():
    from kdedge import outputs, runs, sweep
    from kdedge.budget_search import study
    from kdedge.recipes import loader

    assert set(outputs.FOLDER_RECORDS) == {runs.MANIFEST, loader.RECORD, sweep.PLAN, study.CONFIG}
