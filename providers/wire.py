"""Small helpers the HTTP carrier backends share to read their carriers' answers and callbacks."""

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from providers.base import (
    PermanentProviderError,
    ProviderAuthError,
    ProviderError,
    RateLimitedError,
    TransientProviderError,
    UnusableCallback,
)

# Deeper JSON than this is no carrier's callback (theirs are two or three levels deep).
MAX_CALLBACK_JSON_DEPTH = 20


def json_or_none(response):
    """The decoded JSON body of an http.Response, or None when the carrier (or a proxy) answered something else."""
    return response.data


def error_for_status(status: int, text: str, *, code=None, raw=None) -> ProviderError:
    """What a non-2xx HTTP status means on its own."""
    if status in (401, 403):
        cls = ProviderAuthError
    elif status == 429:
        cls = RateLimitedError
    elif status >= 500 or status == 408:
        cls = TransientProviderError
    else:  # another 4xx is about this request; sending it again unchanged won't help
        cls = PermanentProviderError
    return cls(f"HTTP {status}: {text}"[:500], code=status if code is None else code, raw=raw)


def error_for_code(code, text: str, table: dict, *, default=PermanentProviderError, raw=None) -> ProviderError:
    """The error class a carrier's own error code maps to in `table`, else `default`."""
    return table.get(code, default)(text[:500], code=code, raw=raw)


def to_decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def to_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def json_object(body: bytes) -> dict:
    """A callback's JSON body as a dict; UnusableCallback for anything else.

    That includes nesting deeper than MAX_CALLBACK_JSON_DEPTH (however deep:
    the parser's own recursion limit is caught), NaN and Infinity, which no
    JSON column stores.
    """
    try:
        data = json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        raise UnusableCallback({"body": "not a JSON document"}) from None
    if not isinstance(data, dict):
        raise UnusableCallback({"body": "not a JSON object"})
    if _depth(data) > MAX_CALLBACK_JSON_DEPTH:
        raise UnusableCallback({"body": f"nested deeper than {MAX_CALLBACK_JSON_DEPTH} levels"})
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _depth(value) -> int:
    """How deeply `value` nests, without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in item)
    return deepest


def text_field(data: Mapping, name: str, *, label: str = "") -> str:
    """A callback field that must be text when present ("" when absent or null); numbers are read as text."""
    value = data.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise UnusableCallback({label or name: "expected text"})
    return str(value)


def object_field(data: Mapping, name: str, *, label: str = "") -> Mapping:
    """A callback field that must be an object when present ({} when absent or null)."""
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UnusableCallback({label or name: "expected an object"})
    return value


def unix_time(value, name: str) -> datetime | None:
    """A callback's Unix timestamp (seconds) as a datetime; None when absent or 0.

    UnusableCallback when it is not a whole number or not a date between 1970 and 9999.
    """
    if value in (None, "", 0, "0"):
        return None
    seconds = to_int(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    try:
        if seconds is None or seconds < 0:
            raise ValueError
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise UnusableCallback({name: "expected a Unix time between 1970 and 9999"}) from None

