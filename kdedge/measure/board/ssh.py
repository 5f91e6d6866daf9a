"""Talking to a board over SSH with the system's OpenSSH client (`ssh`, `scp`): the user's keys, agent and
~/.ssh/config work as they do in a terminal, host keys are checked against known_hosts (a new host only with
`accept_new`), and nothing ever prompts (BatchMode). Each failure ssh can report becomes one BoardError line that
names the board, what went wrong and what to do.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ...errors import BoardError, OptionError

CONNECT_TIMEOUT_S = 10


class BoardUnreachable(BoardError):
    """No SSH connection to the board (refused, timed out, no route, unknown name)."""


class BoardAuthError(BoardError):
    """The board refused every key offered."""


class BoardHostKeyError(BoardError):
    """The board's host key is not in known_hosts, or differs from the one there."""


class BoardSetupError(BoardError):
    """The board lacks kdedge, or has another version of it."""


class BoardDiskFull(BoardError):
    """The board has no room for the graphs and test inputs."""


@dataclass(frozen=True)
class Board:
    """An SSH destination from `ssh://[user@]host[:port]`; user and port left to ssh (and ~/.ssh/config) if absent."""

    url: str
    host: str
    user: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, url: str) -> Board:
        fix = "give the board as ssh://[user@]host[:port], e.g. ssh://pi@raspberrypi.local or ssh://pi@10.0.0.7:2222"
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise OptionError(f"--on {url}: the port is not a number from 1 to 65535; {fix}") from None
        if parts.password is not None:
            raise OptionError(f"--on {url}: kdedge takes no passwords (keys only, from your agent or ~/.ssh); {fix}")
        if parts.scheme != "ssh" or not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise OptionError(f"--on {url}: not an ssh:// address; {fix}")
        host = parts.hostname
        if host.startswith("-"):  # would be read as an ssh option
            raise OptionError(f"--on {url}: a host name cannot start with '-'; {fix}")
        return cls(url, host, parts.username, port)

    @property
    def name(self) -> str:
        """A file-safe name for this board's figures in a run (`devices/NAME.json`): host, and port if given."""
        text = self.host + (f"-{self.port}" if self.port else "")
        return re.sub(r"[^A-Za-z0-9._-]", "_", text)


class Ssh:
    """Commands on, and copies to, one board."""

    def __init__(self, board: Board, accept_new_host: bool = False, config: Path | None = None):
        for tool in ("ssh", "scp"):
            if shutil.which(tool) is None:
                raise BoardError(
                    f"no '{tool}' on this machine; install the OpenSSH client (e.g. apt install openssh-client)"
                )
        if config is not None and not Path(config).is_file():
            raise OptionError(f"--ssh-config {config}: no such file; pass an ssh_config file or leave it out")
        self.board = board
        self.options = [
            *(["-F", str(config)] if config is not None else []),
            "-o", "BatchMode=yes",  # never a password or passphrase prompt: a missing key is an error
            "-o", f"StrictHostKeyChecking={'accept-new' if accept_new_host else 'yes'}",
            "-o", f"ConnectTimeout={CONNECT_TIMEOUT_S}",
            "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4",  # a board that dies mid-bench: 1 min
            "-o", "LogLevel=ERROR",  # no banners or warnings mixed into what is classified below
            *(["-o", f"User={board.user}"] if board.user else []),
            *(["-o", f"Port={board.port}"] if board.port else []),
        ]  # fmt: skip

    def run(self, script: str, timeout: float | None = None) -> subprocess.CompletedProcess:
        """`script` run by the board's POSIX shell; ssh failures (exit 255) raised as BoardError, the script's own
        exit status left to the caller."""
        command = ["ssh", *self.options, self.board.host, "sh -c " + shlex.quote(script)]
        done = self._call(command, timeout)
        if done.returncode == 255:
            raise self.error(done.stderr)
        return done

    def copy(self, files: list[Path], folder: str, timeout: float | None = None) -> None:
        """Copy local `files` (and folders) into the board's `folder` (which exists)."""
        host = f"[{self.board.host}]" if ":" in self.board.host else self.board.host
        command = ["scp", "-q", "-p", "-r", *self.options, "--", *map(str, files), f"{host}:{folder}/"]
        done = self._call(command, timeout)
        if done.returncode != 0:
            raise self.error(done.stderr, copying=True)

    def _call(self, command: list[str], timeout: float | None) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise BoardUnreachable(
                f"{self.board.url}: no answer within {timeout:.0f} s; check the board is up and not overloaded"
            ) from None

    def error(self, stderr: str, copying: bool = False) -> BoardError:
        """The BoardError for what ssh or scp printed."""
        url, text = self.board.url, stderr or ""
        last = next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "no message")
        if "No space left on device" in text or "Disk quota exceeded" in text:
            return BoardDiskFull(
                f"{url}: the board's disk is full ({last}); free space there, or pass --board-tmp DIR on a disk "
                "with room"
            )
        if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text:
            return BoardHostKeyError(
                f"{url}: the board's host key differs from the one in known_hosts; if the board was reinstalled, "
                f"remove the old key (ssh-keygen -R {self.board.host}) and connect again, otherwise do not trust it"
            )
        if "Host key verification failed" in text or "No matching host key" in text or "host key is known" in text:
            return BoardHostKeyError(
                f"{url}: the board's host key is not in known_hosts; connect once with ssh to check and add it, "
                "or pass --accept-new-host to accept a board seen for the first time"
            )
        if "Permission denied" in text or "Too many authentication failures" in text:
            who = self.board.user or "your user name (or ~/.ssh/config's User)"
            return BoardAuthError(
                f"{url}: the board refused authentication as {who} ({last}); add your public key to the board's "
                "~/.ssh/authorized_keys (ssh-copy-id) or load it into your ssh agent; kdedge never asks for passwords"
            )
        if "subsystem request failed" in text:
            return BoardError(
                f"{url}: the board's SSH server offers no SFTP, which scp needs; enable it there (a 'Subsystem sftp' "
                "line in sshd_config, or install openssh-sftp-server)"
            )
        unreachable = (
            "Connection refused", "Connection timed out", "No route to host", "Could not resolve hostname",
            "Network is unreachable", "Name or service not known", "Connection closed by", "Connection reset",
            "not responding",
        )  # fmt: skip
        if any(marker in text for marker in unreachable):
            return BoardUnreachable(
                f"{url}: cannot reach the board ({last}); check its address and port, that it is on the network and "
                "that its SSH server runs"
            )
        what = "copying to the board" if copying else "ssh"
        return BoardError(f"{url}: {what} failed ({last}); try `ssh {self.board.host}` by hand to see why")
