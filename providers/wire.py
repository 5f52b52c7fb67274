"""Small helpers the HTTP carrier backends share to read their carriers' answers."""

from decimal import Decimal, InvalidOperation

from providers.base import (
    PermanentProviderError,
    ProviderAuthError,
    ProviderError,
    RateLimitedError,
    TransientProviderError,
)
from providers.http import Response


def json_or_none(response: Response):
    """The decoded JSON body, or None when the carrier (or a proxy) answered something else."""
    try:
        return response.json()
    except ValueError:
        return None


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
