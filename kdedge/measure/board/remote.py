"""One bench on a board: the graphs and the test split copied to a temporary folder there, the board's own
`kdedge bench --model ... --test-set ... --json` run (the torch-free core install), its JSON brought back with the
rows named as they are here. The folder is removed afterwards, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
) -> dict:
    """`kdedge bench --json` as the board gives it for `entries` on (x, y), its rows named and pathed as here.

    `bench_args`: the board's bench options (--threads, --min-runs...); `target_file`: an export profile file to
    copy and pass as --target."""
    from ... import __version__

    setup = setup or BoardSetup()
    with tempfile.TemporaryDirectory(prefix="kdedge-board-") as staging:
        staging = Path(staging)
        remote_names, files = {}, []
        for i, entry in enumerate(entries):
            name = f"m{i}.onnx"
            shutil.copyfile(entry.model_path, staging / name)  # scp names the copy after the file it is given
            remote_names[name] = entry
            files.append(staging / name)
        save_test_set(staging / "test.npz", x, y, description)
        files.append(staging / "test.npz")
        args = [*bench_args]
        for name in remote_names:
            args += ["--model", name]
        teacher = next((n for n, e in remote_names.items() if e.kind == "teacher"), None)
        if teacher is not None:
            args += ["--teacher", teacher]
        if target_file is not None:
            shutil.copyfile(target_file, staging / "target.toml")
            files.append(staging / "target.toml")
            args += ["--target", "target.toml"]
        needed_kb = sum(f.stat().st_size for f in files) / 1024

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
    return _as_here(result, remote_names)


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


def _as_here(result: dict, remote_names: dict[str, Entry]) -> dict:
    """The board's rows named and pathed as the entries are here (the board saw m0.onnx, m1.onnx...)."""
    for row in result.get("rows", []):
        entry = remote_names.get(row.get("name"))
        if entry is not None:
            row["name"], row["path"] = entry.name, str(entry.model_path)
    notes = []
    for note in result.get("notes", []):
        for name in sorted(remote_names, key=len, reverse=True):  # m10.onnx before m1.onnx
            note = note.replace(name, remote_names[name].name)
        notes.append(note)
    result["notes"] = notes
    return result
