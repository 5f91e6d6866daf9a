"""A board on 127.0.0.1 for the `--on ssh://` tests: OpenSSH's sshd on a free port with throwaway host and user keys,
an ssh_config naming it (and a few broken variants), and a virtualenv with the core-only install of kdedge (no
torch) playing the board's Python. Nothing here touches the user's ~/.ssh or any system sshd."""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SSHD = Path("/usr/sbin/sshd")
SFTP_SERVERS = ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/lib/ssh/sftp-server")


def why_no_sshd() -> str | None:
    """Why the loopback board cannot run here, or None."""
    if not SSHD.is_file():
        return f"no {SSHD}; install openssh-server (scripts/install-system-deps.sh)"
    for tool in ("ssh", "scp", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"no {tool}; install openssh-client"
    if not any(Path(p).is_file() for p in SFTP_SERVERS):
        return "no sftp-server (scp needs it); install openssh-server"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@dataclass
class LoopbackBoard:
    folder: Path
    port: int
    process: subprocess.Popen
    kdedge: Path | None = None  # the board virtualenv's kdedge command

    def client_config(self, path: Path, *, key: str = "user_key", known_hosts: Path | None = None, port=None) -> Path:
        """An ssh_config at `path` whose `Host board` (and `board2`, the same server under another name) reach this
        sshd with `key`, checking host keys against `known_hosts` (default: one that knows this board)."""
        user = getpass.getuser()
        known_hosts = known_hosts or self.folder / "known_hosts"
        text = "".join(
            f"Host {name}\n  HostName 127.0.0.1\n  Port {port or self.port}\n  User {user}\n"
            f"  IdentityFile {self.folder / key}\n  IdentitiesOnly yes\n  IdentityAgent none\n"
            f"  UserKnownHostsFile {known_hosts}\n  GlobalKnownHostsFile /dev/null\n"
            for name in ("board", "board2")
        )
        path.write_text(text)
        return path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_sshd(folder: Path) -> LoopbackBoard:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "user_key", "other_key"):
        keygen(folder / name)
    shutil.copyfile(folder / "user_key.pub", folder / "authorized_keys")
    sftp = next(p for p in SFTP_SERVERS if Path(p).is_file())
    port = free_port()
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\nPidFile {folder / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
        f"StrictModes no\nUsePAM no\nSubsystem sftp {sftp}\nLogLevel ERROR\n"
    )
    if os.geteuid() == 0:  # sshd started by root insists on its privilege-separation folder
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    log = folder / "sshd.log"
    with open(log, "wb") as stderr:  # sshd keeps its own copy of the descriptor
        process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(folder / "sshd_config")], stdout=subprocess.DEVNULL, stderr=stderr
        )
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {log.read_text().strip()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"sshd did not listen on 127.0.0.1:{port} within 15 s: {log.read_text().strip()}")
        time.sleep(0.05)
    kind, key = (folder / "host_key.pub").read_text().split()[:2]
    (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {kind} {key}\n")
    return LoopbackBoard(folder, port, process)


def source_key() -> str:
    """A digest of what the core install is built from (the package, pyproject.toml, constraints.txt)."""
    digest = hashlib.sha256()
    files = [REPO / "pyproject.toml", REPO / "constraints.txt"]
    files += sorted(p for p in (REPO / "kdedge").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def board_venv(cache: Path) -> Path:
    """A virtualenv with kdedge's core install from this checkout (numpy, onnxruntime, typer, rich, pydantic, filelock;
    no torch): its kdedge command. Kept in `cache` under the digest of the source, so a rerun of the tests with the
    same code reuses it (a virtualenv cannot be moved, so it is built in place, under a lock)."""
    from filelock import FileLock

    folder = cache / source_key()
    kdedge = folder / "bin" / "kdedge"
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache / ".lock")):
        if (folder / "complete").is_file():
            return kdedge
        for old in cache.iterdir():  # builds of other sources (~150 MB each) and an interrupted one of this
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        source = folder.with_name(folder.name + "-source")  # a copy: pip builds in the tree it is given (build/)
        shutil.rmtree(source, ignore_errors=True)
        source.mkdir(parents=True)
        for name in ("pyproject.toml", "README.md"):
            shutil.copyfile(REPO / name, source / name)
        shutil.copytree(REPO / "kdedge", source / "kdedge", ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run(
            [str(folder / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "-c", str(REPO / "constraints.txt"), str(source)],
            check=True, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(source)
        (folder / "complete").write_text("")
    return kdedge
