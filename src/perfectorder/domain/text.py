"""Which characters free text from people may carry.

No name, reference or address contains control codes, and they do harm downstream: PostgreSQL
cannot store NUL, a CR or LF in a reference becomes a header break in the confirmation e-mail,
and a line separator splits a log line. Multi-line text (notes, comments) keeps LF and TAB; CR is
refused there too, so a line break is one character everywhere it is stored.
"""

from __future__ import annotations

import re

from perfectorder.domain.errors import InvalidInput

MULTILINE_ALLOWED = frozenset("\n\t")
# The control codes (Unicode category Cc: U+0000-U+001F and U+007F-U+009F), and the separators that
# text tools treat as line ends. One regular expression: a history import checks millions of values.
_REFUSED = re.compile("[\u0000-\u001f\u007f-\u009f\u2028\u2029]")
_REFUSED_MULTILINE = re.compile("[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]")


def bad_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character text may not carry, or None when it is clean."""
    found = (_REFUSED_MULTILINE if multiline else _REFUSED).search(value)
    return None if found is None else found.group()


def describe(character: str) -> str:
    return f"U+{ord(character):04X}"


def check_text(value: str | None, field: str, *, multiline: bool = False) -> None:
    """Raises InvalidInput `invalid_characters` naming the field when the text carries a control code."""
    if not value:
        return
    found = bad_character(value, multiline=multiline)
    if found is not None:
        raise InvalidInput(
            "invalid_characters",
            text_message(found, multiline=multiline),
            field=field,
            details={"character": describe(found)},
        )


def text_message(character: str, *, multiline: bool) -> str:
    if multiline:
        return f"remove the control character {describe(character)}; line breaks are written as \\n"
    return f"remove the control character {describe(character)}; this field is one line of plain text"


def text_pattern(*, multiline: bool = False, non_blank: bool = False) -> str:
    """The JSON Schema pattern of the text `bad_character` accepts, for the OpenAPI document.

    ECMA-262 and Python read it alike: `\\uXXXX` escapes and a character class, anchored at both
    ends. With `non_blank`, at least one character is not white space (what `.strip()` keeps).
    """
    refused = r"\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029"
    if not multiline:
        refused = r"\u0000-\u001f\u007f-\u009f\u2028\u2029"
    if non_blank:
        return rf"^[^{refused}]*[^{refused}\s][^{refused}]*$"
    return rf"^[^{refused}]*$"
