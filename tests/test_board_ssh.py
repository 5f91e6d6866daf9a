"""`kdedge bench --on ssh://...` against a real OpenSSH server on 127.0.0.1 (tests/sshboard.py): the board is a
second virtualenv with the core-only install (no torch), reached with throwaway keys. The figures come back titled
with the device and are kept per device in the runs; every failure is one line and exit 2, and the board's
temporary folder is gone afterwards."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest
from sshboard import board_venv, start_sshd, why_no_sshd
from typer.testing import CliRunner

from kdedge import __version__
from kdedge.cli import app

pytestmark = pytest.mark.skipif(why_no_sshd() is not None, reason=str(why_no_sshd()))
runner = CliRunner()
QUICK = ["--min-runs", "5", "--min-seconds", "0"]


@pytest.fixture(scope="session")
def board(tmp_path_factory):
    """sshd on a free loopback port, and the board's core-only virtualenv (built once per version of the source,
    kept beside pytest's temporary folders: 17-65 s to build on a 2-core machine, depending on its load)."""
    folder = tmp_path_factory.mktemp("board")
    started = time.monotonic()
    kdedge = board_venv(tmp_path_factory.getbasetemp().parent / "kdedge-board-venv")
    print(f"board virtualenv ready in {time.monotonic() - started:.1f} s")  # shown with -s
    try:
        server = start_sshd(folder / "sshd")
    except RuntimeError as exc:  # e.g. a container that forbids binding or sshd's privilege separation
        pytest.skip(f"sshd cannot run here: {exc}")
    server.kdedge = kdedge
    yield server
    server.stop()


@pytest.fixture
def runs(tmp_path, teacher_run, kd_mlp_run):
    """Copies of the session's teacher and KD MLP (the board's figures are written into them)."""
    root = tmp_path / "runs"
    for run in (teacher_run, kd_mlp_run):
        shutil.copytree(run.path, root / run.path.name)
    return root


def on_board(board, tmp_path, *args, config=None, kdedge=None):
    """`kdedge bench ... --on` with this test's ssh_config and an empty folder on the board for the temporary copy."""
    board_tmp = tmp_path / "board-tmp"
    board_tmp.mkdir(exist_ok=True)
    config = config or board.client_config(tmp_path / "ssh_config")
    common = ["--ssh-config", config, "--board-kdedge", kdedge or board.kdedge, "--board-tmp", board_tmp, *QUICK]
    return runner.invoke(app, ["bench", *map(str, args), *map(str, common)])


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and result.stdout == "", result.output
    return lines[0]


def test_the_board_has_no_torch(board):
    python = board.kdedge.parent / "python"
    done = subprocess.run([python, "-c", "import torch"], capture_output=True, text=True)
    assert done.returncode != 0 and "No module named 'torch'" in done.stderr
    done = subprocess.run([board.kdedge, "--version"], capture_output=True, text=True)
    assert done.stdout.strip() == f"kdedge {__version__}"


def test_bench_on_the_board_titles_the_device_and_keeps_its_figures(board, tmp_path, runs, kd_mlp_run):
    if shutil.which("cc") is None:
        pytest.skip("no C compiler (cc) for the C export; install gcc (scripts/install-system-deps.sh)")
    exported = runner.invoke(app, ["export", str(runs / "mlp"), "--target", "c"])  # the board compiles and times it
    assert exported.exit_code == 0, exported.output
    r = on_board(board, tmp_path, runs / "mlp", runs / "teacher", "--on", "ssh://board")
    assert r.exit_code == 0, r.output
    record = json.loads((runs / "mlp" / "devices" / "board.json").read_text())
    device = record["device"]
    assert device["kdedge"] == __version__ and device["url"] == "ssh://board" and device["cpu_count"] >= 1
    assert f"on board ({device['hostname']}: {device['cpu_model']}, {device['machine']}" in r.stdout.replace("\n", " ")
    rows = {row["name"]: row for row in record["rows"]}
    assert set(rows) == {"mlp", "mlp C", "runtime floor", "C floor"}  # the run's rows and the floors, not the teacher's
    assert rows["mlp C"]["target"] == "c" and rows["mlp C"]["path"] == str(runs / "mlp" / "c" / "kdedge_mlp.c")
    assert rows["mlp C"]["accuracy"] == pytest.approx(rows["mlp"]["accuracy"], abs=0.005)
    # the very test split this machine measures: the board's accuracy is the run's own test accuracy
    assert rows["mlp"]["accuracy"] == pytest.approx(kd_mlp_run.manifest.metrics["test_accuracy"])
    assert rows["mlp"]["agreement"] == pytest.approx(kd_mlp_run.manifest.metrics["test_agreement_with_teacher"])
    assert rows["mlp"]["memory"]["model_mb"] > 0 and rows["mlp"]["path"] == str(runs / "mlp" / "model.onnx")
    assert record["data"]["fingerprint"] == kd_mlp_run.manifest.data.fingerprint
    (note,) = record["notes"]  # only how the board compiled the C rows: with its own cc
    assert note.startswith("C rows: compiled here with cc -std=c99 -O2")
    teacher = json.loads((runs / "teacher" / "devices" / "board.json").read_text())
    assert {row["name"] for row in teacher["rows"]} == {"teacher", "runtime floor"}
    assert list((tmp_path / "board-tmp").iterdir()) == []  # the temporary folder is gone

    report = runner.invoke(app, ["report", str(runs), "--out", str(tmp_path / "r.html"), "--json"])
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["devices"] == ["board"]
    html = (tmp_path / "r.html").read_text()
    section = html[html.index("Figures per device") : html.index("<h2>Sweeps")]
    assert "board: on board (" in section and section.count("<tr><td class=l>mlp</td><td class=l>mlp</td>") == 1
    assert section.count("<tr><td class=l>teacher</td>") == 1 and "runtime floor" not in section
    assert "exported again" not in section

    (runs / "mlp" / "model.onnx").write_bytes((runs / "mlp" / "model.onnx").read_bytes() + b"\0")
    runner.invoke(app, ["report", str(runs), "--out", str(tmp_path / "r.html"), "--overwrite"])
    assert "mlp: mlp was exported again after this board measured it" in (tmp_path / "r.html").read_text()


def test_several_boards_as_json(board, tmp_path, runs):
    r = on_board(board, tmp_path, runs / "mlp", "--on", "ssh://board", "--on", "ssh://board2", "--json", "--no-memory")
    assert r.exit_code == 0, r.output
    results = json.loads(r.stdout)["devices"]
    assert [res["device"]["name"] for res in results] == ["board", "board2"]
    assert all(res["rows"][0]["name"] == "mlp" and "memory" not in res["rows"][0] for res in results)
    assert sorted(p.name for p in (runs / "mlp" / "devices").iterdir()) == ["board.json", "board2.json"]


def test_a_new_host_only_with_accept_new_host(board, tmp_path, runs):
    known = tmp_path / "known_hosts"
    known.write_text("")
    config = board.client_config(tmp_path / "ssh_config", known_hosts=known)
    line = one_error_line(on_board(board, tmp_path, runs / "mlp", "--on", "ssh://board", config=config))
    assert "host key is not in known_hosts" in line and "--accept-new-host" in line
    assert not (runs / "mlp" / "devices").exists() and known.read_text() == ""

    r = on_board(
        board, tmp_path, runs / "mlp", "--on", "ssh://board", "--accept-new-host", "--no-memory", config=config
    )
    assert r.exit_code == 0, r.output
    assert f"[127.0.0.1]:{board.port}" in known.read_text()  # remembered, as ssh does


def test_a_changed_host_key_is_refused_even_with_accept_new_host(board, tmp_path, runs):
    known = tmp_path / "known_hosts"
    other = (board.folder / "other_key.pub").read_text().split()  # a key of the same type that is not the host's
    known.write_text(f"[127.0.0.1]:{board.port} {other[0]} {other[1]}\n")
    config = board.client_config(tmp_path / "ssh_config", known_hosts=known)
    line = one_error_line(
        on_board(board, tmp_path, runs / "mlp", "--on", "ssh://board", "--accept-new-host", config=config)
    )
    assert "host key differs from the one in known_hosts" in line


@pytest.fixture
def fake_kdedge(tmp_path, board):
    """A kdedge command on the board that is not right: (version line, what `bench` does)."""

    def make(version_line: str, bench: str = 'exec "$REAL" "$@"') -> str:
        path = tmp_path / f"kdedge-wrapper-{len(list(tmp_path.glob('kdedge-wrapper-*')))}"
        path.write_text(
            f'#!/bin/sh\nREAL={board.kdedge}\nif [ "$1" = --version ]; then echo "{version_line}"; exit 0; fi\n'
            f"{bench}\n"
        )
        path.chmod(0o755)
        return str(path)

    return make


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unreachable", "cannot reach the board (ssh: connect to host 127.0.0.1 port"),
        ("wrong key", "refused authentication"),
        ("no kdedge", "no '/nonexistent/bin/kdedge' command on the board"),
        ("version", f"the board has kdedge 0.0.9 and this machine {__version__}; install the same version"),
        ("bench fails", "the board's kdedge bench failed: something on the board went wrong"),
    ],
)
def test_errors_are_one_line(board, tmp_path, runs, fake_kdedge, case, expected):
    from sshboard import free_port

    config = {
        "unreachable": lambda: board.client_config(tmp_path / "c", port=free_port()),
        "wrong key": lambda: board.client_config(tmp_path / "c", key="other_key"),
    }.get(case, lambda: None)()
    kdedge = {
        "no kdedge": "/nonexistent/bin/kdedge",
        "version": fake_kdedge("kdedge 0.0.9"),
        "bench fails": fake_kdedge(
            f"kdedge {__version__}", 'echo "error: something on the board went wrong" >&2; exit 2'
        ),
    }.get(case)
    line = one_error_line(on_board(board, tmp_path, runs / "mlp", "--on", "ssh://board", config=config, kdedge=kdedge))
    assert expected in line, line
    assert not (runs / "mlp" / "devices").exists()
    assert list((tmp_path / "board-tmp").iterdir()) == []  # made and removed again, or never made


def test_a_full_disk_on_the_board(board, tmp_path, runs):
    """The board's temporary folder on a 64 KB tmpfs (mounting needs root; the graphs and inputs need ~0.5 MB)."""
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(tiny)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {done.stderr.decode().strip()}")
    try:
        config = board.client_config(tmp_path / "ssh_config")
        r = runner.invoke(
            app,
            ["bench", str(runs / "mlp"), "--on", "ssh://board", "--ssh-config", str(config),
             "--board-kdedge", str(board.kdedge), "--board-tmp", str(tiny), *QUICK],
        )  # fmt: skip
        line = one_error_line(r)
        assert "the board's disk is full: 64 KB free in" in line and "--board-tmp" in line
        assert list(tiny.iterdir()) == []
    finally:
        subprocess.run(["umount", str(tiny)], check=False)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://board", "not an ssh:// address"),
        ("ssh://pi:secret@board", "kdedge takes no passwords"),
        ("ssh://board:0x", "the port is not a number"),
        ("ssh://-oProxyCommand=x", "cannot start with '-'"),
    ],
)
def test_bad_addresses_fail_before_connecting(tmp_path, runs, url, expected):
    r = runner.invoke(app, ["bench", str(runs / "mlp"), "--on", url])
    assert expected in one_error_line(r)


def test_board_names_and_addresses():
    from kdedge.measure.board import Board

    board = Board.parse("ssh://pi@[fe80::1]:2222")
    assert (board.user, board.host, board.port, board.name) == ("pi", "fe80::1", 2222, "fe80__1-2222")
    assert Board.parse("ssh://raspberrypi.local").name == "raspberrypi.local"


def test_a_test_set_from_other_data_is_refused_for_a_run(tmp_path, runs, digits):
    from kdedge.measure.testset import save_test_set

    x, y = digits.split("test")
    save_test_set(tmp_path / "t.npz", x, y, {**digits.describe(), "fingerprint": "other"})
    r = runner.invoke(app, ["bench", str(runs / "mlp"), "--test-set", str(tmp_path / "t.npz")])
    assert "was split from other data or with another seed than the test set" in one_error_line(r)


def test_search_measures_its_trials_on_the_board(board, tmp_path, teacher_run):
    import optuna

    from kdedge.budget_search.study import STUDY_NAME, _storage

    board_tmp = tmp_path / "board-tmp"
    board_tmp.mkdir()
    out = tmp_path / "search"
    args = [
        "search", "--teacher", teacher_run.path, "--out", out, "--trials", 1, "--families", "mlp",
        "--max-epochs", 3, "--min-seconds", 0.05, "--max-latency-us", 100_000,
        "--on", "ssh://board", "--ssh-config", board.client_config(tmp_path / "ssh_config"),
        "--board-kdedge", board.kdedge, "--board-tmp", board_tmp, "--json",
    ]  # fmt: skip
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    (trial,) = optuna.load_study(study_name=STUDY_NAME, storage=_storage(out)).trials
    assert trial.user_attrs["device"]["name"] == "board" and trial.user_attrs["figures"]["p50_us"] > 0
    summary = json.loads(r.stdout)
    assert summary["test"]["device"]["name"] == "board"  # the winner's test figures come from the board too
    assert {row["name"] for row in summary["test"]["rows"]} >= {"best", "teacher"}
    assert json.loads((out / "search.json").read_text())["board"]["url"] == "ssh://board"
    assert list(board_tmp.iterdir()) == []


def test_search_on_an_unreachable_board_fails_before_training(board, tmp_path, teacher_run):
    from sshboard import free_port

    config = board.client_config(tmp_path / "ssh_config", port=free_port())
    r = runner.invoke(
        app,
        ["search", "--teacher", str(teacher_run.path), "--out", str(tmp_path / "s"), "--trials", "1",
         "--on", "ssh://board", "--ssh-config", str(config), "--board-kdedge", str(board.kdedge)],
    )  # fmt: skip
    assert "cannot reach the board" in one_error_line(r)
    assert not (tmp_path / "s").exists()


def test_a_bench_file_cannot_replace_a_boards_figures(tmp_path, runs):
    (runs / "mlp" / "devices").mkdir()
    r = runner.invoke(app, ["bench", str(runs / "mlp"), "--out", str(runs / "mlp" / "devices" / "pi.json")])
    assert "is in the board figures of the kdedge folder" in one_error_line(r)


@pytest.mark.parametrize(
    ("stderr", "kind", "expected"),
    [
        ("Timeout, server 10.0.0.7 not responding.", "BoardUnreachable", "cannot reach the board"),
        ("ssh: Could not resolve hostname pi4: Name or service not known", "BoardUnreachable", "cannot reach"),
        ("@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.",
         "BoardHostKeyError", "ssh-keygen -R pi4"),
        ('scp: dest open "/tmp/x/m0.onnx": No space left on device', "BoardDiskFull", "disk is full"),
        ("subsystem request failed on channel 0\nscp: Connection closed", "BoardError", "offers no SFTP"),
        ("kex_exchange_identification: banner exchange: something odd", "BoardError", "try `ssh pi4` by hand"),
    ],
)  # fmt: skip
def test_what_ssh_says_becomes_one_line(stderr, kind, expected):
    from kdedge.measure.board import Board, Ssh

    error = Ssh(Board.parse("ssh://pi@pi4")).error(stderr)
    assert type(error).__name__ == kind and expected in str(error) and "\n" not in str(error)


def test_a_board_path_under_home_stays_the_boards_home():
    from kdedge.measure.board.remote import _shell_path

    assert _shell_path("~/kd/bin/kdedge") == '"$HOME"/kd/bin/kdedge'
    assert _shell_path("/opt/kd dir/kdedge") == "'/opt/kd dir/kdedge'"
