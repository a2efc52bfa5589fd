"""What every command shares: the consoles, and running an action with domain errors shown once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from perfectorder.bootstrap import Application, build
from perfectorder.config import Settings
from perfectorder.domain.errors import DomainError

T = TypeVar("T")
console = Console()
err = Console(stderr=True)


def run(action: Callable[[Application], T]) -> T:
    """Builds the application, runs `action`, prints a domain error with its code and exits 2."""
    application = build(Settings.from_env())
    try:
        return action(application)
    except DomainError as e:
        field = f" ({e.field})" if e.field else ""
        err.print(f"[red]error[/red] {e.code}{escape(field)}: {escape(e.message)}")
        raise typer.Exit(2) from e
    finally:
        application.close()
