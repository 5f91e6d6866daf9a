"""The options of commands that measure on a board over SSH (`bench --on`, `search --on`), written once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

On = Annotated[
    list[str] | None,
    typer.Option(
        "--on",
        help="Measure on this board over SSH instead of here: ssh://\\[user@]host[:port] (repeatable). The board needs "
        "the same kdedge version's core install (pip install kdedge) and your key in its authorized_keys.",
    ),
]
AcceptNewHost = Annotated[
    bool,
    typer.Option(
        "--accept-new-host",
        help="Accept and remember the host key of a board not yet in known_hosts (a changed key is still refused).",
    ),
]
SshConfig = Annotated[
    Path | None, typer.Option("--ssh-config", help="An ssh_config file for ssh and scp (default: ~/.ssh/config).")
]
BoardKdedge = Annotated[
    str,
    typer.Option("--board-kdedge", help="The kdedge command on the board, e.g. '~/venv/bin/kdedge' (quoted)."),
]
BoardTmp = Annotated[
    str | None,
    typer.Option("--board-tmp", help="Folder on the board for the temporary copy (default: its $TMPDIR or /tmp)."),
]
SearchOn = Annotated[
    str | None,
    typer.Option(
        "--on",
        help="Measure every trial's latency and memory on this board over SSH (ssh://\\[user@]host[:port]): the "
        "budget is the board's; training stays here. The board needs this kdedge version's core install.",
    ),
]
