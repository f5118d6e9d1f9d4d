"""How every command talks: what it is doing on stderr, what it wrote on stdout."""

from __future__ import annotations

import time
from pathlib import Path

import click


def stage(message: str) -> None:
    """A progress line on stderr, with the time of day."""
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


def wrote(path) -> None:
    """``wrote PATH (SIZE MB)`` on stdout, for a file just written."""
    click.echo(f"wrote {path} ({Path(path).stat().st_size / 1e6:.2f} MB)")
