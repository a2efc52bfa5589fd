"""CSV files as merchants have them: any line ending, an optional byte-order mark, their delimiter."""

from __future__ import annotations

import csv
import re
import sys
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.imports import FileRow

# Real exports carry long free-text fields; the default 128 KiB limit rejects some of them.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def read_toml(path: Path) -> dict[str, Any]:
    try:
        # utf-8-sig: an editor's byte-order mark is not TOML, but it is not the user's mistake either.
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InvalidInput("file_not_found", f"no file at {path}", field=str(path)) from None
    except UnicodeDecodeError as e:
        raise InvalidInput(
            "mapping_invalid", f"{path} is not UTF-8 (byte {e.start:,}): save it as UTF-8", field=str(path)
        ) from None
    except OSError as e:
        raise InvalidInput("file_unreadable", f"cannot read {path}: {e.strerror}", field=str(path)) from None
    except tomllib.TOMLDecodeError as e:
        raise InvalidInput("mapping_invalid", f"{path} is not valid TOML: {e}", field=str(path)) from None


def header(path: Path, *, encoding: str, delimiter: str) -> list[str]:
    for _, row in _reader(path, encoding=encoding, delimiter=delimiter, with_header=True):
        return _columns(row)  # as rows() names them
    return []


def _columns(header_row: Sequence[str]) -> list[str]:
    """The header's column names; a name given twice is refused (rows would silently take the last)."""
    columns = [c.strip() for c in header_row]
    seen: dict[str, int] = {}
    for position, name in enumerate(columns, start=1):
        if name and name in seen:
            raise InvalidInput(
                "duplicate_column",
                f"the header names column {name!r} twice (columns {seen[name]} and {position}): rename one",
                field=name,
            )
        seen[name] = position
    return columns


def rows(path: Path, *, encoding: str, delimiter: str) -> Iterator[tuple[int, dict[str, str | None]]]:
    """(line number where the record starts, values by column) for every record after the header."""
    columns: list[str] = []
    for number, values in _reader(path, encoding=encoding, delimiter=delimiter, with_header=True):
        if not columns:
            columns = _columns(values)
            continue
        if not any(v.strip() for v in values):
            continue  # blank lines between records are not orders
        fields = len(values)
        if fields > len(columns) and not any(v.strip() for v in values[len(columns) :]):
            fields = len(columns)  # empty fields after the last column: a trailing delimiter
        yield number, FileRow(dict(zip(columns, values, strict=False)), fields=fields, expected=len(columns))


def _reader(
    path: Path, *, encoding: str, delimiter: str, with_header: bool
) -> Iterator[tuple[int, Sequence[str]]]:
    try:
        # newline="" hands "\r", "\n" and "\r\n" to the csv module untranslated; it ends records on all three.
        with path.open(encoding=encoding, newline="") as f:
            # strict: a quote opened and never closed is an error at its line, not the rest of the
            # file read silently into one cell.
            reader = csv.reader(f, delimiter=delimiter, strict=True)
            start = 1
            for values in reader:
                yield start, values
                start = reader.line_num + 1
    except FileNotFoundError:
        raise InvalidInput("file_not_found", f"no file at {path}", field=str(path)) from None
    except UnicodeDecodeError as e:
        line, offset = _undecodable_at(path, encoding, e)
        raise InvalidInput(
            "file_unreadable",
            f"{path} is not {encoding}: line {line}, byte {offset:,} of the file ({e.reason}); "
            "set file.encoding in the mapping",
            field="file.encoding",
        ) from None
    except LookupError:
        raise InvalidInput(
            "mapping_invalid", f"unknown encoding {encoding!r}", field="file.encoding"
        ) from None
    except csv.Error as e:
        where = (
            f"the record starting on line {start}" if "end of data" in str(e) else f"line {reader.line_num}"
        )
        hint = ": a quote is opened and never closed" if "end of data" in str(e) else ""
        raise InvalidInput(
            "file_unreadable", f"{path} is not a readable CSV file at {where} ({e}){hint}", field=str(path)
        ) from None
    except OSError as e:
        raise InvalidInput("file_unreadable", f"cannot read {path}: {e.strerror}", field=str(path)) from None


def _undecodable_at(path: Path, encoding: str, error: UnicodeDecodeError) -> tuple[int, int]:
    """(line, byte offset in the file) of the first byte that does not decode: the decoder's own
    offset counts from the start of the chunk it was reading, not of the file."""
    offset = 0
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as e:
                return number, offset + e.start
            offset += len(raw)
    return 0, error.start  # only decodes wrongly across lines (a multi-byte encoding's quirk)


def write_rejects(path: Path, rejects: Sequence[Any], columns: Sequence[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([spreadsheet_safe(c) for c in columns])
        for r in rejects:
            writer.writerow([spreadsheet_safe(getattr(r, c)) for c in columns])


# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...), +cmd|...).
# The full-width forms are read as the same by spreadsheets in East Asian locales.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def spreadsheet_safe(value: object) -> object:
    """A cell for a CSV file people open in a spreadsheet: text that a spreadsheet would run as a
    formula gets a leading apostrophe (OWASP's advice), so it shows as the text it is. A plain
    number such as -3 is left as it is: it is data, not a formula, and stays sortable."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value
