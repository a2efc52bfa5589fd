"""Reading order history from someone else's file: the mapping of its columns to our facts, and the
rules that turn one row's text into typed values. Pure: the file itself is read by an adapter."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from perfectorder.domain.countries import country_code
from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.fulfilment import Criterion
from perfectorder.domain.orders import (
    AddressInput,
    CustomerInput,
    LineInput,
    OrderStatus,
    PaymentInput,
    PlaceOrder,
)
from perfectorder.domain.promise import terms_problem
from perfectorder.domain.text import bad_character, text_message
from perfectorder.domain.values import BackorderPolicy, Channel, PaymentMethod, PaymentStatus

# Our fields a history file may provide, in the order the docs list them.
FIELDS = (
    "order_ref",
    "line_ref",
    "ordered_at",
    "approved_at",
    "shipped_at",
    "promised_at",
    "promised_from",
    "delivered_at",
    "status",
    "customer_ref",
    "sku",
    "quantity",
    "unit_price",
    "channel",
    "carrier",
    "warehouse",
    "destination_country",
    "rating",
    "category",
    "currency",
)
MOMENTS = ("ordered_at", "approved_at", "shipped_at", "promised_at", "promised_from", "delivered_at")

REQUIRED = ("order_ref", "ordered_at")
DEFAULT_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
MAX_REF = 100
# No order in a file predates e-commerce: an earlier order time is a spreadsheet's zero date or a typo.
EARLIEST_ORDER = datetime(1970, 1, 1, tzinfo=UTC)
ISO = "iso"  # a format that reads any ISO 8601 date or time, with or without an offset
# A history file's orders without a destination: CLDR's "unknown region", never an address to ship to.
UNKNOWN_COUNTRY = "ZZ"


@dataclass(frozen=True, slots=True)
class HistoryMapping:
    # Our field -> the file's columns for it: the first with a value (for a date, one that parses) wins.
    columns: Mapping[str, tuple[str, ...]]
    status_map: Mapping[str, OrderStatus] = field(default_factory=dict)
    channel_map: Mapping[str, Channel] = field(default_factory=dict)
    formats: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    missing: frozenset[str] = frozenset({""})
    missing_patterns: tuple[re.Pattern[str], ...] = ()  # values matching one of these are missing too
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    timezone: str = "UTC"
    channel: Channel = Channel.IMPORT
    warehouse: str = "HIST"
    carrier: str = "unknown"
    currency: str = "EUR"
    country: str = "ZZ"
    quantity: int = 1
    decimal: str = "auto"  # the prices' decimal separator: ".", "," or "auto" (guessed per value)
    # A date more than this many days before the order is no date (a spreadsheet's zero date, 1899-12-30).
    max_days_before_order: int = 1
    on_time_basis: str = "date"  # the file's orders are judged on time by date or by time
    grace_minutes: int = 0

    def column(self, name: str) -> str | None:
        """The field's (first) column, as errors name it."""
        found = self.columns.get(name)
        return found[0] if found else None

    def alternatives(self, name: str) -> tuple[str, ...]:
        return self.columns.get(name, ())

    def is_missing(self, value: str) -> bool:
        if value in self.missing:
            return True
        return bool(self.missing_patterns) and any(p.fullmatch(value) for p in self.missing_patterns)

    def formats_for(self, name: str) -> tuple[str, ...]:
        return self.formats.get(name) or self.formats.get("*") or DEFAULT_FORMATS


# What a mapping may hold: a misspelt key would otherwise be ignored without a word.
TABLES = {
    "columns": None,  # our field names, checked below
    "status": None,  # the file's values
    "channel": None,
    "formats": None,
    "file": frozenset(
        {
            "delimiter",
            "encoding",
            "timezone",
            "missing",
            "missing_patterns",
            "decimal",
            "max_days_before_order",
        }
    ),
    "defaults": frozenset(
        {
            "channel",
            "warehouse",
            "carrier",
            "currency",
            "country",
            "quantity",
            "on_time_basis",
            "grace_minutes",
        }
    ),
}


def _check_keys(raw: Mapping[str, Any]) -> None:
    for table, value in raw.items():
        if table not in TABLES:
            raise InvalidInput(
                "mapping_invalid",
                f"unknown table [{table}]; a mapping has {', '.join(f'[{t}]' for t in TABLES)}",
                field=table,
            )
        if not isinstance(value, dict):
            raise InvalidInput("mapping_invalid", f"[{table}] must be a table of keys", field=table)
        known = TABLES[table]
        for key in value:
            if known is not None and key not in known:
                raise InvalidInput(
                    "mapping_invalid",
                    f"unknown key {key!r} in [{table}]; known keys: {', '.join(sorted(known))}",
                    field=f"{table}.{key}",
                )


def mapping_from_dict(raw: Mapping[str, Any]) -> HistoryMapping:
    """Builds a mapping from a parsed TOML document; every mistake names the key at fault."""
    _check_keys(raw)
    columns = raw.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise InvalidInput("mapping_invalid", "the mapping needs a [columns] table", field="columns")
    for name, column in columns.items():
        if name not in FIELDS:
            raise InvalidInput(
                "mapping_invalid",
                f"unknown field {name!r}; known fields: {', '.join(FIELDS)}",
                field=f"columns.{name}",
            )
        listed = [column] if isinstance(column, str) else column
        if not isinstance(listed, list) or not listed or not all(isinstance(c, str) and c for c in listed):
            raise InvalidInput(
                "mapping_invalid",
                'a column name, or a list of them to try in turn (["Delivered", "Delivered (carrier)"])',
                field=f"columns.{name}",
            )
    for name in REQUIRED:
        if name not in columns:
            raise InvalidInput("mapping_invalid", f"the mapping must name the {name} column", field="columns")
    statuses = _value_map(raw, "status", OrderStatus, "an order state")
    channels = _value_map(raw, "channel", Channel, "a channel")
    formats: dict[str, tuple[str, ...]] = {}
    for name, given in (raw.get("formats") or {}).items():
        if name != "*" and name not in MOMENTS:
            raise InvalidInput("mapping_invalid", f"{name!r} is not a date column", field=f"formats.{name}")
        listed = (given,) if isinstance(given, str) else tuple(given) if isinstance(given, list) else ()
        if not listed or not all(isinstance(f, str) and ("%" in f or f == ISO) for f in listed):
            raise InvalidInput(
                "mapping_invalid",
                'formats are strftime patterns such as %Y-%m-%d, or "iso" for any ISO 8601 form',
                field=f"formats.{name}",
            )
        formats[name] = listed
    options = raw.get("file") or {}
    defaults = raw.get("defaults") or {}
    timezone = str(options.get("timezone", "UTC"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            "mapping_invalid", f"unknown time zone {timezone!r}", field="file.timezone"
        ) from None
    delimiter = options.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise InvalidInput("mapping_invalid", "the delimiter is one character", field="file.delimiter")
    try:
        channel = Channel(defaults.get("channel", Channel.IMPORT.value))
    except ValueError:
        raise InvalidInput(
            "mapping_invalid",
            f"unknown channel; use one of {', '.join(c.value for c in Channel)}",
            field="defaults.channel",
        ) from None
    decimal = str(options.get("decimal", "auto"))
    if decimal not in ("auto", ".", ","):
        raise InvalidInput("mapping_invalid", 'decimal is ".", "," or "auto"', field="file.decimal")
    missing = options.get("missing", [""])
    missing = [missing] if isinstance(missing, str) else missing
    if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
        raise InvalidInput("mapping_invalid", "missing is a list of texts", field="file.missing")
    patterns = options.get("missing_patterns", [])
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise InvalidInput(
            "mapping_invalid",
            "missing_patterns is a list of regular expressions",
            field="file.missing_patterns",
        )
    try:
        compiled = tuple(re.compile(p.strip()) for p in patterns)
    except re.error as e:
        raise InvalidInput(
            "mapping_invalid",
            f"{e.pattern!r} is not a regular expression: {e}",
            field="file.missing_patterns",
        ) from None
    days_before = options.get("max_days_before_order", 1)
    if not isinstance(days_before, int) or isinstance(days_before, bool) or days_before < 0:
        raise InvalidInput(
            "mapping_invalid",
            "max_days_before_order is a whole number of days",
            field="file.max_days_before_order",
        )
    quantity = defaults.get("quantity", 1)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise InvalidInput("mapping_invalid", "quantity is a whole number from 1", field="defaults.quantity")
    basis = str(defaults.get("on_time_basis", "date"))
    grace = defaults.get("grace_minutes", 0)
    if not isinstance(grace, int) or isinstance(grace, bool):
        raise InvalidInput(
            "mapping_invalid", "grace_minutes is a whole number of minutes", field="defaults.grace_minutes"
        )
    # The same terms a customer may have, by the same rule.
    if (problem := terms_problem(basis, grace)) is not None:
        raise InvalidInput("mapping_invalid", problem[1], field=f"defaults.{problem[0]}")
    encoding = str(options.get("encoding", "utf-8-sig"))
    # A UTF-8 file may or may not start with a byte-order mark; utf-8-sig reads both.
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    return HistoryMapping(
        # Headers are read with surrounding spaces removed ("Sales Channel " is "Sales Channel").
        columns={
            name: tuple(c.strip() for c in ([column] if isinstance(column, str) else column))
            for name, column in columns.items()
        },
        status_map=statuses,
        channel_map=channels,
        formats=formats,
        missing=frozenset(m.strip() for m in missing) | {""},
        missing_patterns=compiled,
        delimiter=delimiter,
        encoding=encoding,
        timezone=timezone,
        channel=channel,
        warehouse=str(defaults.get("warehouse", "HIST"))[:32],
        carrier=str(defaults.get("carrier", "unknown"))[:64],
        currency=str(defaults.get("currency", "EUR")).upper()[:3],
        country=_default_country(defaults.get("country", UNKNOWN_COUNTRY)),
        quantity=quantity,
        max_days_before_order=days_before,
        decimal=decimal,
        on_time_basis=basis,
        grace_minutes=grace,
    )


def _default_country(raw: object) -> str:
    given = str(raw).strip().upper()
    if given == UNKNOWN_COUNTRY:
        return given
    code = country_code(given)
    if code is None:
        raise InvalidInput(
            "mapping_invalid",
            f"{raw!r} is not an ISO 3166-1 country code; use two letters such as BR, or ZZ for unknown",
            field="defaults.country",
        )
    return code


E = TypeVar("E", bound=enum.Enum)


def _value_map(raw: Mapping[str, Any], table: str, kind: type[E], noun: str) -> dict[str, E]:
    """A mapping table of the file's values to ours ([status], [channel]); names the bad entry."""
    out: dict[str, E] = {}
    for value, ours in (raw.get(table) or {}).items():
        try:
            out[str(value)] = kind(ours)
        except ValueError:
            raise InvalidInput(
                "mapping_invalid",
                f"{ours!r} is not {noun}; use one of {', '.join(str(k.value) for k in kind)}",
                field=f"{table}.{value}",
            ) from None
    return out


class FileRow(dict[str, str | None]):
    """A record's values by column, with how many fields it had and how many the header named: a
    row cut short (or run long) is refused whole, never read with its columns shifted or missing."""

    def __init__(self, values: Mapping[str, str | None], *, fields: int, expected: int) -> None:
        super().__init__(values)
        self.fields = fields
        self.expected = expected


def check_shape(row: Mapping[str, str | None]) -> None:
    if isinstance(row, FileRow) and row.fields != row.expected:
        raise RowError(
            "row_field_count",
            "",
            f"the row has {row.fields} field(s) where the header names {row.expected}: a delimiter or "
            "quote is missing or extra in it",
        )


class RowError(Exception):
    """One row cannot be imported: the reject file records its code, column and message."""

    def __init__(self, code: str, column: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.column = column
        self.message = message


@dataclass(frozen=True, slots=True)
class HistoryLine:
    line_ref: str
    sku: str
    quantity: int
    unit_price: Decimal | None
    category: str
    # The row's own schedule: rows of one order may promise and deliver each line apart.
    promised_on: date | None = None
    promised_by: datetime | None = None
    promised_from: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(slots=True)
class HistoricalOrder:
    order_ref: str
    first_row: int
    ordered_at: datetime
    status: OrderStatus | None = None
    approved_at: datetime | None = None
    shipped_at: datetime | None = None
    promised_on: date | None = None
    promised_by: datetime | None = None  # the promise's time, when the file gives one
    promised_from: datetime | None = None  # a delivery window's start
    delivered_at: datetime | None = None
    customer_ref: str = ""
    channel: Channel = Channel.IMPORT
    carrier: str = ""
    warehouse: str = ""
    country: str = ""
    currency: str = ""
    rating: int | None = None
    lines: list[HistoryLine] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # the file's rows of this order
    implausible: list[str] = field(default_factory=list)  # columns whose date came before the order


def order_ref_of(mapping: HistoryMapping, row: Mapping[str, str | None]) -> str:
    """The row's order reference as `parse_row` reads it (the first of its columns with a value),
    or "" when it has none; also for rows that are rejected, so their order is known."""
    for column in mapping.columns.get("order_ref", ()):
        value = (row.get(column) or "").strip()
        if not mapping.is_missing(value):
            return value
    return ""


def parse_row(mapping: HistoryMapping, row: Mapping[str, str | None]) -> HistoricalOrder:
    """One row's values, typed; raises RowError naming the column at fault."""
    check_shape(row)

    cells: dict[str, str | None] = {}  # each mapped column's value, checked once: None when missing

    def values(name: str) -> list[tuple[str, str]]:
        """(column, value) of the field's columns that hold a value, in the mapping's order."""
        out = []
        for column in mapping.columns.get(name, ()):
            if column in cells:
                value = cells[column]
            else:
                if column not in row:
                    raise RowError("column_missing", column, f"the file has no column {column!r}")
                value = (row[column] or "").strip()
                if (found := bad_character(value)) is not None:
                    raise RowError("invalid_characters", column, text_message(found, multiline=False))
                value = None if mapping.is_missing(value) else value
                cells[column] = value
            if value is not None:
                out.append((column, value))
        return out

    def text(name: str) -> str | None:
        found = values(name)
        return found[0][1] if found else None

    def moment(name: str, *, not_before: datetime | None = None) -> datetime | None:
        found = values(name)
        if not found:
            return None
        skipped = 0
        for column, value in found:
            for pattern in mapping.formats_for(name):
                parsed = _parse(value, pattern)
                if parsed is None:
                    continue
                parsed = parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed
                if name == "promised_at":
                    timed[name] = _has_time(value, pattern) and parsed.time() != time()
                if not_before is not None and parsed < not_before:
                    # What happened to an order cannot come long before it (a spreadsheet's zero
                    # date): read as missing, and the field's next column is tried.
                    implausible.append(column)
                    skipped += 1
                    break
                return parsed
        if len(found) == skipped:
            return None
        column, value = found[0]
        raise RowError(
            "invalid_date",
            column,
            f"{value!r} matches none of the formats {', '.join(mapping.formats_for(name))}"
            + (" (nor does any of the field's other columns)" if len(found) > 1 else ""),
        )

    zone = ZoneInfo(mapping.timezone)
    implausible: list[str] = []
    # Fields whose value had a time of day: a promise without one (or at midnight, as spreadsheets
    # write a bare date) holds for the whole day.
    timed: dict[str, bool] = {}
    ref = text("order_ref")
    if ref is None:
        raise RowError("missing_value", mapping.column("order_ref") or "", "the order reference is empty")
    if len(ref) > MAX_REF:
        raise RowError(
            "too_long", mapping.column("order_ref") or "", f"order references are at most {MAX_REF}"
        )
    ordered = moment("ordered_at", not_before=EARLIEST_ORDER)
    if ordered is None and implausible:
        raise RowError(
            "implausible_date",
            implausible[0],
            f"an order time before {EARLIEST_ORDER.year} is no order time (a spreadsheet's zero date?): "
            "list another column for ordered_at, or add the value to missing_patterns",
        )
    if ordered is None:
        raise RowError("missing_value", mapping.column("ordered_at") or "", "the order time is empty")
    status = None
    raw_status = text("status")
    if raw_status is not None:
        status = _lookup(raw_status, mapping.status_map, OrderStatus)
        if status is None:
            raise RowError(
                "unknown_status",
                mapping.column("status") or "",
                f"{raw_status!r} is not mapped; add it to the mapping's [status] table",
            )
    channel = mapping.channel
    raw_channel = text("channel")
    if raw_channel is not None:
        found_channel = _lookup(raw_channel, mapping.channel_map, Channel)
        if found_channel is None:
            raise RowError(
                "unknown_channel",
                mapping.column("channel") or "",
                f"{raw_channel!r} is no channel of ours; map it in the mapping's [channel] table",
            )
        channel = found_channel
    rating = None
    raw_rating = text("rating")
    if raw_rating is not None:
        try:
            exact = Decimal(raw_rating)
            # A customer gives whole stars: 4.5 is an average or a typo, never read as 4.
            if not exact.is_finite() or exact != exact.to_integral_value():
                raise ValueError(raw_rating)
            rating = int(exact)
        except (InvalidOperation, ValueError):
            raise RowError(
                "invalid_number",
                mapping.column("rating") or "",
                f"{raw_rating!r} is no rating: a rating is a whole number of stars from 1 to 5",
            ) from None
        if not 1 <= rating <= 5:
            raise RowError("out_of_range", mapping.column("rating") or "", "a rating is from 1 to 5")
    earliest = ordered - timedelta(days=mapping.max_days_before_order)

    def after_order(name: str) -> datetime | None:
        return moment(name, not_before=earliest)

    promised = after_order("promised_at")
    window = after_order("promised_from")
    promised_by = promised if promised is not None and timed.get("promised_at") else None
    if window is not None and promised is None:
        raise RowError(
            "invalid_window",
            mapping.column("promised_from") or "",
            "a delivery window's start needs its end: map promised_at too",
        )
    if window is not None and promised is not None:
        end = promised_by or datetime.combine(promised.date() + timedelta(days=1), time(), promised.tzinfo)
        if window >= end:
            raise RowError(
                "invalid_window",
                mapping.column("promised_from") or "",
                f"the delivery window opens at {window.isoformat()}, not before it closes "
                f"({promised.isoformat()})",
            )
    delivered = after_order("delivered_at")
    order = HistoricalOrder(
        order_ref=ref,
        first_row=0,
        ordered_at=ordered,
        status=status,
        approved_at=after_order("approved_at"),
        shipped_at=after_order("shipped_at"),
        promised_on=promised.date() if promised else None,
        promised_by=promised_by,
        promised_from=window,
        delivered_at=delivered,
        customer_ref=(text("customer_ref") or "")[:MAX_REF],
        channel=channel,
        carrier=(text("carrier") or mapping.carrier)[:64],
        warehouse=(text("warehouse") or mapping.warehouse)[:32],
        country=_country(text("destination_country"), mapping),
        currency=(text("currency") or mapping.currency).upper()[:3],
        rating=rating,
        implausible=implausible,
    )
    sku = text("sku")
    if sku is not None:
        line = _line(mapping, sku[:64], text)
        if line is not None:
            order.lines.append(
                replace(
                    line,
                    promised_on=order.promised_on,
                    promised_by=promised_by,
                    promised_from=window,
                    delivered_at=delivered,
                )
            )
    return order


_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%X", "%c", "%T", "%R")


def _has_time(value: str, pattern: str) -> bool:
    if pattern == ISO:
        return len(value) > 10
    return any(d in pattern for d in _TIME_DIRECTIVES)


def _country(raw: str | None, mapping: HistoryMapping) -> str:
    if raw is None:
        return mapping.country
    code = country_code(raw)
    if code is None:
        raise RowError(
            "invalid_country",
            mapping.column("destination_country") or "",
            f"{raw!r} is not an ISO 3166-1 country code such as BR or DE",
        )
    return code


# ISO shapes that datetime.fromisoformat reads exactly, about thirty times faster than strptime:
# the length check keeps it as strict as the pattern.
_ISO_SHAPES = {"%Y-%m-%d %H:%M:%S": (19, " "), "%Y-%m-%dT%H:%M:%S": (19, "T"), "%Y-%m-%d": (10, "")}


def _parse(value: str, pattern: str) -> datetime | None:
    if pattern == ISO:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    shape = _ISO_SHAPES.get(pattern)
    if shape is not None:
        length, separator = shape
        if len(value) != length or (separator and value[10] != separator) or not value[:4].isdigit():
            return None
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    # strptime is slow and a file repeats its dates (every order of a day has the same promised
    # date): each distinct text is parsed once.
    key = (pattern, value)
    if key in _PARSED:
        return _PARSED[key]
    try:
        parsed: datetime | None = datetime.strptime(value, pattern)
    except ValueError:
        parsed = None
    if len(_PARSED) > 200_000:
        _PARSED.clear()
    _PARSED[key] = parsed
    return parsed


_PARSED: dict[tuple[str, str], datetime | None] = {}


def _line(mapping: HistoryMapping, sku: str, text: Any) -> HistoryLine | None:
    quantity = mapping.quantity
    raw_quantity = text("quantity")
    if raw_quantity is not None:
        try:
            exact = Decimal(raw_quantity.replace(",", "").replace("_", ""))
            if not exact.is_finite() or exact != exact.to_integral_value():
                raise ValueError(raw_quantity)
            quantity = int(exact)
        except (InvalidOperation, ValueError):
            raise RowError(
                "invalid_number",
                mapping.column("quantity") or "",
                f"{raw_quantity!r} is no whole quantity",
            ) from None
    if quantity == 0:
        # Marketplace reports list a cancelled order's item with quantity 0: the order happened
        # (and counts as cancelled), the line did not.
        return None
    if quantity < 0:
        raise RowError(
            "out_of_range",
            mapping.column("quantity") or "",
            "a quantity is not negative (returns are not orders)",
        )
    price = None
    raw_price = text("unit_price")
    if raw_price is not None:
        try:
            price = parse_money(raw_price, mapping.decimal)
        except InvalidOperation:
            raise RowError(
                "invalid_number", mapping.column("unit_price") or "", f"{raw_price!r} is no price"
            ) from None
        if price < 0 or not price.is_finite():
            raise RowError("out_of_range", mapping.column("unit_price") or "", "a price is not negative")
    return HistoryLine(
        line_ref=(text("line_ref") or "")[:MAX_REF],
        sku=sku,
        quantity=quantity,
        unit_price=price,
        category=(text("category") or "")[:100],
    )


def merge(into: HistoricalOrder, row: HistoricalOrder) -> None:
    """Rows of one order: the first row's order facts stand, later rows add their lines and fill
    gaps; the order arrived when its last line did (each line keeps its own promise and arrival)."""
    into.lines.extend(row.lines)
    into.rows.extend(row.rows)
    if (
        into.delivered_at is not None
        and row.delivered_at is not None
        and row.delivered_at > into.delivered_at
    ):
        into.delivered_at = row.delivered_at
    if into.promised_on is None and row.promised_on is not None:
        # A promise is a day, its time and its window together, never pieced from two rows.
        into.promised_on, into.promised_by, into.promised_from = (
            row.promised_on,
            row.promised_by,
            row.promised_from,
        )
    for name in ("approved_at", "shipped_at", "delivered_at", "rating", "status"):
        if getattr(into, name) is None and getattr(row, name) is not None:
            setattr(into, name, getattr(row, name))


def unmeasured(order: HistoricalOrder) -> frozenset[str]:
    """What a history file cannot tell: messages we never sent, picking and damage facts it does not
    carry, and completeness when it has no lines."""
    out = {Criterion.ACCURATE, Criterion.UNDAMAGED, Criterion.COMMUNICATED}
    if not order.lines:
        out.add(Criterion.COMPLETE)
    return frozenset(str(c) for c in out)


def closing_status(order: HistoricalOrder) -> OrderStatus:
    """The state the order ended in: the file's, or what its facts imply."""
    if order.status is not None:
        return order.status
    if order.delivered_at is not None:
        return OrderStatus.DELIVERED
    if order.shipped_at is not None:
        return OrderStatus.SHIPPED
    if order.approved_at is not None:
        return OrderStatus.APPROVED
    return OrderStatus.RECEIVED


def unique_lines(lines: Sequence[HistoryLine]) -> list[HistoryLine]:
    """A line repeated with the same line reference (a file read twice into one) counts once."""
    seen: set[tuple[str, str]] = set()
    out = []
    for line in lines:
        key = (line.line_ref, line.sku)
        if line.line_ref and key in seen:
            continue
        seen.add(key)
        out.append(line)
    return out


# The live order file: one row per order line; rows sharing channel and external_ref are one order.
ORDER_COLUMNS = (
    "channel",
    "external_ref",
    "currency",
    "customer_id",
    "customer_email",
    "customer_name",
    "customer_phone",
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postal_code",
    "ship_country",
    "ship_phone",
    "ship_timezone",
    "sku",
    "quantity",
    "unit_price",
    "requested_delivery_date",
    "shipping_service",
    "backorder_policy",
    "payment_method",
    "payment_status",
    "payment_amount",
    "payment_reference",
    "note",
)
ORDER_REQUIRED = ("channel", "external_ref", "currency", "sku", "quantity")


# Free text that may span lines in a spreadsheet cell; a Windows line end (CRLF) is read as LF.
MULTILINE_COLUMNS = frozenset({"note"})


def _check_cells(row: Mapping[str, str | None]) -> None:
    """A control character anywhere in the row refuses it, in columns we read or not."""
    for column, value in row.items():
        if not value:
            continue
        multiline = column in MULTILINE_COLUMNS
        if multiline:
            value = value.replace("\r\n", "\n")
        if (found := bad_character(value, multiline=multiline)) is not None:
            raise RowError("invalid_characters", column, text_message(found, multiline=multiline))


def order_key(row: Mapping[str, str | None]) -> tuple[str, str]:
    return ((row.get("channel") or "").strip().lower(), (row.get("external_ref") or "").strip())


def order_command(rows: Sequence[Mapping[str, str | None]]) -> PlaceOrder:
    """The PlaceOrder command for one order's rows (the first row carries the order's header); the
    same verification as the API runs on it afterwards."""
    first = rows[0]
    for row in rows:
        check_shape(row)
        _check_cells(row)

    def text(name: str, row: Mapping[str, str | None] = first) -> str | None:
        value = (row.get(name) or "").strip()
        if name in MULTILINE_COLUMNS:
            value = value.replace("\r\n", "\n")
        return value or None

    def choice(name: str, kind: Any, default: Any = None) -> Any:
        value = text(name)
        if value is None:
            return default
        try:
            return kind(value.lower())
        except ValueError:
            raise RowError(
                "invalid_choice", name, f"{value!r} is not one of {', '.join(k.value for k in kind)}"
            ) from None

    def number(name: str, row: Mapping[str, str | None], kind: type) -> Any:
        value = text(name, row)
        if value is None:
            return None
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise RowError("invalid_type", name, f"{value!r} is not a number") from None
        if not parsed.is_finite():
            raise RowError("invalid_type", name, f"{value!r} is not a number")
        if kind is int:
            if parsed != parsed.to_integral_value():
                raise RowError("invalid_type", name, f"{value!r} is not a whole number")
            return int(parsed)
        return parsed

    for name in ORDER_REQUIRED:
        if text(name) is None:
            raise RowError("missing_field", name, f"every row needs {name}")
    channel = choice("channel", Channel)
    requested = None
    if (raw := text("requested_delivery_date")) is not None:
        try:
            requested = date.fromisoformat(raw)
        except ValueError:
            raise RowError("invalid_type", "requested_delivery_date", "use YYYY-MM-DD") from None
    lines = []
    for row in rows:
        sku = text("sku", row)
        quantity = number("quantity", row, int)
        if sku is None or quantity is None:
            raise RowError(
                "missing_field", "sku" if sku is None else "quantity", "every row needs sku and quantity"
            )
        lines.append(LineInput(sku, quantity, number("unit_price", row, Decimal)))
    customer_id = number("customer_id", first, int)
    payment = None
    if (method := choice("payment_method", PaymentMethod)) is not None:
        payment = PaymentInput(
            method,
            choice("payment_status", PaymentStatus, PaymentStatus.PENDING),
            number("payment_amount", first, Decimal),
            text("payment_reference"),
        )
    return PlaceOrder(
        channel=channel,
        external_ref=text("external_ref") or "",
        currency=(text("currency") or "").upper(),
        lines=tuple(lines),
        customer=CustomerInput(
            customer_id, text("customer_email"), text("customer_name"), text("customer_phone")
        ),
        shipping_address=AddressInput(
            **{
                f: text(f"ship_{f}")
                for f in (
                    "name",
                    "line1",
                    "line2",
                    "city",
                    "region",
                    "postal_code",
                    "country",
                    "phone",
                    "timezone",
                )
            }
        ),
        payment=payment,
        requested_delivery_date=requested,
        backorder_policy=choice("backorder_policy", BackorderPolicy, BackorderPolicy.REJECT),
        shipping_service=text("shipping_service") or "standard",
        note=text("note") or "",
    )


def _lookup(raw: str, mapped: Mapping[str, E], kind: type[E]) -> E | None:
    """The mapping's own entry first, then the same ignoring case, then one of our values written
    loosely ("Delivered", "partially shipped", "Customer-Service")."""
    if raw in mapped:
        return mapped[raw]
    folded = raw.casefold()
    for value, ours in mapped.items():
        if value.casefold() == folded:
            return ours
    try:
        return kind(re.sub(r"[\s-]+", "_", folded))
    except ValueError:
        return None


_MONEY_NOISE = re.compile(r"[^\d.,+-]")


def parse_money(raw: str, decimal: str = "auto") -> Decimal:
    """A price as people write them: "12.90", "12,90", "1,234.56", "1.234,56", "$ 1,234.56",
    "R$ 12,50", "12.90 EUR". Raises InvalidOperation when no number is left."""
    value = _MONEY_NOISE.sub("", raw)
    if decimal == "auto":
        if "," in value and "." in value:
            decimal = "," if value.rfind(",") > value.rfind(".") else "."
        elif value.count(",") == 1 and len(value) - value.index(",") - 1 != 3:
            decimal = ","  # "12,5" or "12,50": a decimal comma; "1,234" stays a thousands separator
        else:
            decimal = "."
    thousands = "," if decimal == "." else "."
    value = value.replace(thousands, "")
    if decimal == ",":
        value = value.replace(",", ".")
    if not value or value.count(".") > 1:
        raise InvalidOperation(raw)
    return Decimal(value)
