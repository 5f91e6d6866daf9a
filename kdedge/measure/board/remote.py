"""One bench on a board: the graphs and the test split copied to a temporary folder there, the board's own
`kdedge bench --model ... --test-set ... --json` run (the torch-free core install), its JSON brought back with the
rows named as they are here. The folder is removed afterwards, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...c_variants import VARIANTS
from ...errors import BoardError
from .. import Entry
from ..testset import save_test_set
from .ssh import BoardDiskFull, BoardSetupError, Ssh

FOLDER_PREFIX = "kdedge-bench."
SETUP_TIMEOUT_S = 120  # the version probe, mkdir and clean-up; a bench itself takes as long as it takes
ROOM_MARGIN_KB = 1024  # beyond the files' size: the board's Python and onnxruntime need a little room too


@dataclass(frozen=True)
class BoardSetup:
    """What to run on the board and where."""

    kdedge: str = "kdedge"  # the command on the board's PATH, or a path to it (a virtualenv's bin/kdedge)
    tmp: str | None = None  # the folder to make the temporary one in (default: the board's $TMPDIR or /tmp)


def _shell_path(path: str) -> str:
    """`path` quoted for the board's shell, with a leading ~/ still meaning the board's home (not this one's)."""
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def bench_on_board(
    ssh: Ssh,
    entries: list[Entry],
    x: np.ndarray,
    y: np.ndarray,
    description: dict,
    setup: BoardSetup | None = None,
    bench_args: list[str] = (),
    target_file: Path | None = None,
    runs: list[tuple[str, Path]] = (),
) -> dict:
    """`kdedge bench --json` as the board gives it on (x, y), its rows named and pathed as here.

    `runs` (row name, run folder) go as folders holding what a bench reads (manifest, graphs, C export: the board
    compiles and times C students itself, with its own compiler); `entries` go as bare ONNX files. `bench_args`: the
    board's bench options (--threads, --min-runs...); `target_file`: an export profile file to pass as --target."""
    from ... import __version__

    setup = setup or BoardSetup()
    with tempfile.TemporaryDirectory(prefix="kdedge-board-") as staging:
        staging = Path(staging)
        remote_models, remote_runs, files, args = {}, {}, [], []
        for i, (name, path) in enumerate(runs):
            remote = f"r{i}"
            _stage_run(Path(path), staging / remote)
            remote_runs[remote] = (name, Path(path))
            files.append(staging / remote)
            args.append(remote)
        for i, entry in enumerate(entries):
            remote = f"m{i}.onnx"
            shutil.copyfile(entry.model_path, staging / remote)  # scp names the copy after the file it is given
            remote_models[remote] = entry
            files.append(staging / remote)
            args += ["--model", remote]
        save_test_set(staging / "test.npz", x, y, description)
        files.append(staging / "test.npz")
        args += bench_args
        teacher = next((r for r, e in remote_models.items() if e.kind == "teacher"), None)
        if teacher is not None:
            args += ["--teacher", teacher]
        if target_file is not None:
            shutil.copyfile(target_file, staging / "target.toml")
            files.append(staging / "target.toml")
            args += ["--target", "target.toml"]
        needed_kb = sum(f.stat().st_size for f in staging.rglob("*") if f.is_file()) / 1024

        folder = _make_folder(ssh, setup, needed_kb, __version__)
        try:
            try:
                ssh.copy(files, folder)
            except BoardError as exc:  # scp over SFTP says only "Failure" when the disk fills up: look
                _check_room(ssh, folder, needed_kb, cause=exc)
                raise
            command = " ".join(
                [f"cd {shlex.quote(folder)} &&", _shell_path(setup.kdedge), "bench", *map(shlex.quote, args)]
            )
            done = ssh.run(command + " --test-set test.npz --json --quiet")
        finally:  # also after a failure or Ctrl-C
            _remove(ssh, folder)
    if done.returncode != 0:
        if "No space left on device" in done.stderr:
            raise ssh.error(done.stderr)
        last = next((line for line in reversed(done.stderr.splitlines()) if line.strip()), "no message")
        raise BoardError(f"{ssh.board.url}: the board's kdedge bench failed: {last.removeprefix('error: ')}")
    try:
        result = json.loads(done.stdout)
    except ValueError:
        raise BoardError(
            f"{ssh.board.url}: the board's kdedge bench printed no JSON; run `kdedge bench --json` there by hand"
        ) from None
    return _as_here(result, remote_models, remote_runs)


# What a bench reads from a run folder (runs.MANIFEST, ONNX_FILE, INT8_FILE, the C exports' folders)
RUN_FILES = ("kdedge.json", "model.onnx", "model.int8.onnx")


def _stage_run(run: Path, to: Path) -> None:
    """The part of `run` a bench reads, copied to `to`: no weights, no training history."""
    to.mkdir()
    for name in RUN_FILES:
        if (run / name).is_file():
            shutil.copyfile(run / name, to / name)
    for variant in VARIANTS.values():
        if (run / variant.folder).is_dir():
            shutil.copytree(run / variant.folder, to / variant.folder)


def check(ssh: Ssh, setup: BoardSetup) -> None:
    """Reach the board, check its kdedge is this version and that a temporary folder can be made there."""
    from ... import __version__

    _remove(ssh, _make_folder(ssh, setup, 0, __version__))


def _make_folder(ssh: Ssh, setup: BoardSetup, needed_kb: float, version: str) -> str:
    """Check the board's kdedge (present, same version), make the temporary folder, check it has room."""
    url, kdedge = ssh.board.url, _shell_path(setup.kdedge)
    base = _shell_path(setup.tmp) if setup.tmp else '"${TMPDIR:-/tmp}"'
    script = (  # the folder is made only once the board's kdedge is known to be this one
        f"command -v {kdedge} >/dev/null 2>&1 || exit 127; "
        f'v=$({kdedge} --version) || exit 126; echo "$v"; [ "$v" = {shlex.quote("kdedge " + version)} ] || exit 4; '
        f'dir=$(mktemp -d {base}/{FOLDER_PREFIX}XXXXXX) || exit 3; echo "folder=$dir"; '
        'df -Pk "$dir" | tail -n 1'
    )
    done = ssh.run(script, timeout=SETUP_TIMEOUT_S)
    if done.returncode == 127:
        raise BoardSetupError(
            f"{url}: no '{setup.kdedge}' command on the board; install the core there (pip install kdedge=={version}) "
            "or pass --board-kdedge with its path (e.g. ~/venv/bin/kdedge)"
        )
    lines = done.stdout.splitlines()
    if done.returncode == 126 or not lines or not lines[0].startswith("kdedge "):
        last = next((line for line in reversed(done.stderr.splitlines()) if line.strip()), "no message")
        raise BoardSetupError(
            f"{url}: '{setup.kdedge} --version' fails on the board ({last}); reinstall it there "
            f"(pip install kdedge=={version})"
        )
    if done.returncode == 4:
        raise BoardSetupError(
            f"{url}: the board has kdedge {lines[0].split()[-1]} and this machine {version}; install the same "
            f"version on the board (pip install kdedge=={version}) so both measure the same way"
        )
    if done.returncode != 0 or len(lines) < 3 or not lines[1].startswith("folder="):
        raise (
            ssh.error(done.stderr)
            if done.stderr.strip()
            else BoardError(
                f"{url}: could not make a temporary folder on the board; pass --board-tmp DIR with a writable folder"
            )
        )
    folder = lines[1].removeprefix("folder=")
    try:
        _check_room(ssh, folder, needed_kb, df_line=lines[2])
    except BoardDiskFull:
        _remove(ssh, folder)
        raise
    return folder


def _remove(ssh: Ssh, folder: str) -> None:
    """Remove the temporary folder; a failure to (the board went away) must not hide the error that led here."""
    with contextlib.suppress(BoardError):
        ssh.run(f"rm -rf {shlex.quote(folder)}", timeout=SETUP_TIMEOUT_S)


def _check_room(ssh: Ssh, folder: str, needed_kb: float, df_line: str | None = None, cause=None) -> None:
    """BoardDiskFull if the disk holding `folder` has less room than `needed_kb` and a margin (df -P)."""
    if df_line is None:
        with contextlib.suppress(BoardError):
            df_line = ssh.run(f"df -Pk {shlex.quote(folder)} | tail -n 1", timeout=SETUP_TIMEOUT_S).stdout
    fields = (df_line or "").split()
    try:  # POSIX df -P: filesystem, 1024-blocks, used, available, capacity, mounted on
        available_kb = int(fields[3])
    except (IndexError, ValueError):
        return
    if available_kb < needed_kb + ROOM_MARGIN_KB:
        raise BoardDiskFull(
            f"{ssh.board.url}: the board's disk is full: {available_kb} KB free in {folder.rsplit('/', 1)[0]}, the "
            f"graphs and test inputs need {needed_kb + ROOM_MARGIN_KB:.0f} KB; free space there, or pass --board-tmp "
            "DIR on a disk with room"
        ) from cause


def _as_here(result: dict, remote_models: dict[str, Entry], remote_runs: dict[str, tuple[str, Path]]) -> dict:
    """The board's rows named and pathed as here: it saw m0.onnx, m1.onnx... and run folders r0, r1... (their rows
    r0, r0 int8, r0 C)."""
    for row in result.get("rows", []):
        name = row.get("name", "")
        head, _, tail = name.partition(" ")
        if name in remote_models:
            entry = remote_models[name]
            row["name"], row["path"] = entry.name, str(entry.model_path)
        elif head in remote_runs:
            local, path = remote_runs[head]
            row["name"] = f"{local} {tail}" if tail else local
            with contextlib.suppress(ValueError):  # the board names it inside r0/: here, inside the run
                row["path"] = str(path / Path(row.get("path", "")).relative_to(head))
    renames = {**{r: e.name for r, e in remote_models.items()}, **{r: n for r, (n, _) in remote_runs.items()}}
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(renames, key=len, reverse=True))) + r")\b")
    if renames:
        result["notes"] = [pattern.sub(lambda m: renames[m.group(1)], n) for n in result.get("notes", [])]
    return result
