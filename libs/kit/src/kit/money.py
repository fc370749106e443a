"""Money at the edge: amounts arrive as strings with at most two decimal places ("12.50"), never as JSON
numbers (binary floats), and the OpenAPI schema says exactly which strings are accepted."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema


def _pattern(*, positive: bool, whole_digits: int) -> str:
    nonzero = r"(?=.*[1-9])" if positive else ""
    return rf"^{nonzero}\d{{1,{whole_digits}}}(\.\d{{1,2}})?$"


def _validator(pattern: str, *, positive: bool) -> Any:
    compiled = re.compile(pattern)

    def parse(value: object) -> Decimal:
        if isinstance(value, Decimal):
            return value
        if not isinstance(value, str) or not compiled.fullmatch(value):
            limit = ", greater than zero" if positive else ""
            raise ValueError(f'an amount is a string like "12.50" (at most two decimal places{limit})')
        return Decimal(value)

    return PlainValidator(parse)


def _schema(pattern: str) -> Any:
    return WithJsonSchema({"type": "string", "pattern": pattern, "examples": ["12.50"]}, mode="validation")


_AMOUNT = _pattern(positive=False, whole_digits=5)
_POSITIVE = _pattern(positive=True, whole_digits=5)
_POSITIVE_LARGE = _pattern(positive=True, whole_digits=10)

# Serialised as the same kind of string it arrives as.
_AS_STRING = PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json")

# Up to 99,999.99 (a session, a payment, a fee).
Amount = Annotated[Decimal, _validator(_AMOUNT, positive=False), _schema(_AMOUNT), _AS_STRING]
PositiveAmount = Annotated[Decimal, _validator(_POSITIVE, positive=True), _schema(_POSITIVE), _AS_STRING]
# Up to 9,999,999,999.99 (what a payer claws back across claims).
PositiveLargeAmount = Annotated[
    Decimal, _validator(_POSITIVE_LARGE, positive=True), _schema(_POSITIVE_LARGE), _AS_STRING
]
