"""Rules the OpenAPI document states, refused with the same code whichever layer meets them first.

A rule written as a schema constraint (a bound, a pattern, a list of choices) is checked by pydantic
and published in /openapi.json from the same line, so the two cannot drift. Pydantic's refusal is
generic ("greater_than_equal"); `coded` renames it to the code the domain gives the same rule, so a
client branching on `invalid_rating` does not also have to know `out_of_range`.

`STATED_CODES` lists every code whose rule the document states: schema-valid data never earns one,
and the contract test holds the API to that.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

STATED_CODES: set[str] = {"invalid_characters"}
_CONSTRAINT_ERRORS = frozenset(
    {
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "literal_error",
        "enum",
    }
)


def stated(code: str) -> str:
    """Records that the schema states the rule behind `code` (checked by the domain, not pydantic)."""
    STATED_CODES.add(code)
    return code


def coded(code: str, message: str) -> WrapValidator:
    """An Annotated validator that answers `code` when the field's schema constraints refuse it."""
    stated(code)

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as e:
            # A wrong type stays invalid_type: only a value outside the stated bounds is this rule.
            if all(error["type"] in _CONSTRAINT_ERRORS for error in e.errors()):
                raise PydanticCustomError(code, message) from None
            raise

    return WrapValidator(validate)
