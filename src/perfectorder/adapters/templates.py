"""Email templates as Jinja2 files a merchant can change: `<kind>.subject.txt`, `<kind>.txt`, `<kind>.html`.

A directory given in PERFECTORDER_TEMPLATE_DIR is searched first, then the shipped defaults.
Filters write amounts and dates as the customer's region does (Babel's CLDR data; English words,
the region of the shipping address: "1.234,50 €" for Germany, "€1,234.50" for Ireland):
`amount|money(currency)`, `date|day`, `datetime|moment` (in the customer's time zone).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

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
        self._env.filters.update(money=money, day=day, moment=moment)

    def render(self, kind: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
        subject = self._env.get_template(f"{kind}.subject.txt").render(context).strip()
        text = self._env.get_template(f"{kind}.txt").render(context)
        html = self._env.get_template(f"{kind}.html").render(context)
        return subject, text, html


@lru_cache(maxsize=256)
def _locale(country: str) -> Locale:
    try:
        return Locale("en", country.upper()) if country else Locale("en")
    except (UnknownLocaleError, ValueError):
        return Locale("en")


def _region(context: Context) -> Locale:
    return _locale(str(context.get("country") or ""))


@pass_context
def money(context: Context, amount: Decimal | str | float, currency: str) -> str:
    """With the currency's own decimals (JPY none, EUR two), never the stored scale ("25.8000")."""
    return _money(Decimal(str(amount)), currency, str(context.get("country") or ""))


# Cached: an e-mail's text and HTML parts write the same figures, and a day's e-mails the same dates;
# the simulator renders some sixty thousand e-mails a quarter.
@lru_cache(maxsize=4096)
def _money(amount: Decimal, currency: str, country: str) -> str:
    return str(format_currency(amount, currency, locale=_locale(country)))


@lru_cache(maxsize=4096)
def _day(value: date, country: str) -> str:
    return str(format_date(value, format="full", locale=_locale(country)))


@pass_context
def day(context: Context, value: date | datetime | str) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.astimezone(_zone(context)).date()
    return _day(value, str(context.get("country") or ""))


@pass_context
def moment(context: Context, value: datetime | str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    zone = _zone(context)
    return str(format_datetime(value.astimezone(zone), format="long", tzinfo=zone, locale=_region(context)))


def _zone(context: Context) -> ZoneInfo:
    try:
        return ZoneInfo(str(context.get("timezone") or "UTC"))
    except (KeyError, ValueError):
        return ZoneInfo("UTC")
