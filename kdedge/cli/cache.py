"""`kdedge cache list|clear`: the teacher-output cache every run on this machine shares."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import CacheDir, JsonFlag, _print_json, app, fails_cleanly

cache_app = typer.Typer(no_args_is_help=True, help="List or clear the shared teacher-output cache.")
app.add_typer(cache_app, name="cache")


def _cache(cache_dir: Path | None):
    from ..target_cache import TargetCache, set_cache_dir

    set_cache_dir(cache_dir)
    return TargetCache()


@cache_app.command("list")
@fails_cleanly
def list_entries(cache_dir: CacheDir = None, as_json: JsonFlag = False):
    """Each entry: the teacher, its inputs' fingerprint, rows × classes, size and last use; then the total and cap."""
    from ..target_cache import max_bytes

    cache = _cache(cache_dir)
    rows = [e.describe() for e in sorted(cache.entries(), key=lambda e: e.last_used, reverse=True)]
    total = sum(r["size_bytes"] for r in rows)
    if as_json:
        _print_json({"folder": str(cache.folder), "entries": rows, "total_bytes": total, "max_bytes": max_bytes()})
        return
    for r in rows:
        n, k = r["shape"]
        typer.echo(
            f"{r['key']}  {r['teacher'] or r['teacher_fingerprint']:<24} {n:>10,} × {k:<4} "
            f"{r['size_bytes'] / 2**20:9.1f} MB  {r['last_used']}"
        )
    typer.echo(
        f"{len(rows)} entries, {total / 2**20:.1f} MB of {max_bytes() / 2**20:.0f} MB (KDEDGE_CACHE_MAX_MB) "
        f"in {cache.folder}"
    )


@cache_app.command("clear")
@fails_cleanly
def clear(cache_dir: CacheDir = None, as_json: JsonFlag = False):
    """Remove every entry (runs that used them stay complete; a later distill recomputes what it needs)."""
    cache = _cache(cache_dir)
    gone = cache.clear()
    freed = sum(e.size_bytes for e in gone)
    if as_json:
        _print_json({"folder": str(cache.folder), "removed": len(gone), "freed_bytes": freed})
        return
    typer.echo(f"removed {len(gone)} entries ({freed / 2**20:.1f} MB) from {cache.folder}")
