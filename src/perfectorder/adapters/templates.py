"""Email templates as Jinja2 files a merchant can change: `<kind>.subject.txt`, `<kind>.txt`, `<kind>.html`.

A directory given in PERFECTORDER_TEMPLATE_DIR is searched first, then the shipped defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

DEFAULTS = Path(__file__).resolve().parent.parent / "templates" / "email"


class JinjaEmailRenderer:
    def __init__(self, override_dir: str | None = None) -> None:
        loaders = [FileSystemLoader(override_dir)] if override_dir else []
        loaders.append(FileSystemLoader(str(DEFAULTS)))
        self._env = Environment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        )

    def render(self, kind: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
        subject = self._env.get_template(f"{kind}.subject.txt").render(context).strip()
        text = self._env.get_template(f"{kind}.txt").render(context)
        html = self._env.get_template(f"{kind}.html").render(context)
        return subject, text, html
