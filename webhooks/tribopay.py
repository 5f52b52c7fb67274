"""TriboPay postbacks: authentication and reading the payload into a Postback.

Two shapes are accepted. The documented one is flat:
    {"id", "payment_method", "payment_status", "amount", "customer": {"phone_number", "name", "email"}}
TriboPay's live postbacks nest the transaction:
    {"status", "method", "transaction": {"id", "amount"}, "customer": {"phone" | "phone_number", ...}}
Amounts are integer cents.

Whatever is accepted must be storable and processable: the raw payload goes
into a jsonb column, which refuses the NUL character and unpaired surrogates
anywhere (in keys too), and `amount` into a bigint. Such payloads, payloads
nested deeper than MAX_JSON_DEPTH and non-finite numbers are refused (400) with the
path of the offending field, before anything is stored.
"""

import hmac
import json
import logging
import math
import re
from dataclasses import dataclass

from django.conf import settings

from smsgate.input_safety import MAX_JSON_DEPTH, UNSTORABLE

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-Webhook-Token"  # noqa: S105 (a header name, not a secret)
# Where a postback may carry a link to finish paying, in order of preference.
_LINK_KEYS = ("payment_link", "payment_url", "checkout_url", "pix_url", "url")
MAX_AMOUNT_CENTS = 2**63 - 1  # Payment.amount_cents is a bigint
_MAX_REPORTED_FIELDS = 20


class MalformedPostback(Exception):
    """The payload is not a TriboPay postback; `errors` maps fields to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Postback:
    tribopay_id: str
    status: str
    method: str
    amount_cents: int | None
    customer_name: str
    customer_phone: str
    customer_email: str
    payment_link: str


def token_is_valid(given: str | None) -> bool:
    """Compare the caller's token with TRIBOPAY_WEBHOOK_SECRET in constant time."""
    secret = settings.TRIBOPAY_WEBHOOK_SECRET
    if not secret:
        logger.error("TRIBOPAY_WEBHOOK_SECRET is not set: every TriboPay postback is refused")
        return False
    return hmac.compare_digest((given or "").encode(), secret.encode())


def given_token(request) -> str | None:
    return request.GET.get("token") or request.headers.get(TOKEN_HEADER)


def read_body(body: bytes):
    """The request body as JSON; raises MalformedPostback if it is not JSON (or nested too deep to read)."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedPostback({"non_field_errors": ["The body must be JSON."]}) from None
    except RecursionError:
        raise MalformedPostback({"non_field_errors": [f"Nested deeper than {MAX_JSON_DEPTH} levels."]}) from None


def parse_postback(payload) -> Postback:
    """Read a postback; raises MalformedPostback naming every bad field."""
    if not isinstance(payload, dict):
        raise MalformedPostback({"non_field_errors": ["The body must be a JSON object."]})
    unstorable = _unstorable_values(payload)
    if unstorable:
        raise MalformedPostback(unstorable)
    transaction = _dict(payload, "transaction")
    customer = _dict(payload, "customer")
    errors: dict[str, list[str]] = {}
    tribopay_id = _text(payload.get("id") or transaction.get("id"))
    status = _text(payload.get("payment_status") or payload.get("status")).lower()
    method = _text(payload.get("payment_method") or payload.get("method")).lower()
    _require(errors, "id", tribopay_id, 100)
    _require(errors, "payment_status", status, 30)
    if len(method) > 30:
        errors["payment_method"] = ["At most 30 characters."]
    if not isinstance(payload.get("transaction", {}), dict):
        errors["transaction"] = ["Must be an object."]
    if not isinstance(payload.get("customer", {}), dict):
        errors["customer"] = ["Must be an object."]
    amount = payload.get("amount", transaction.get("amount"))
    amount_cents = _cents(amount)
    if amount is not None and amount_cents is None:
        errors["amount"] = [f"Must be a whole number of cents from 0 to {MAX_AMOUNT_CENTS}, e.g. 5000 for R$ 50,00."]
    if errors:
        raise MalformedPostback(errors)
    return Postback(
        tribopay_id=tribopay_id,
        status=status,
        method=method,
        amount_cents=amount_cents,
        customer_name=_text(customer.get("name"))[:200],
        customer_phone=_text(customer.get("phone_number") or customer.get("phone"))[:40],
        customer_email=_text(customer.get("email"))[:254],
        payment_link=_payment_link(payload, transaction, _dict(payload, "pix")),
    )


def _dict(payload: dict, key: str) -> dict:
    value = payload.get(key)
    return value if isinstance(value, dict) else {}


def _text(value) -> str:
    if value is None or isinstance(value, dict | list | bool):
        return ""
    return str(value).strip()


def _require(errors: dict, field: str, value: str, max_length: int) -> None:
    if not value:
        errors[field] = ["This field is required."]
    elif len(value) > max_length:
        errors[field] = [f"At most {max_length} characters."]


def _cents(value) -> int | None:
    if isinstance(value, str) and re.fullmatch("[0-9]{1,19}", value.strip()):  # ASCII digits only: not "²"
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_AMOUNT_CENTS:
        return value
    return None


def _unstorable_values(payload: dict) -> dict[str, list[str]]:
    """What Postgres jsonb would refuse, or is nested deeper than MAX_JSON_DEPTH, by field path ("customer.name")."""
    errors: dict[str, list[str]] = {}
    pending = [("", payload, 1)]
    while pending and len(errors) < _MAX_REPORTED_FIELDS:
        path, value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            return {"non_field_errors": [f"Nested deeper than {MAX_JSON_DEPTH} levels."]}
        if isinstance(value, dict):
            for key, item in value.items():
                item_path = f"{path}.{_printable(key)}" if path else _printable(key)
                if UNSTORABLE.search(key):
                    errors[item_path] = ["The field name contains NUL or an unpaired surrogate (invalid Unicode)."]
                pending.append((item_path, item, depth + 1))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item, depth + 1) for index, item in enumerate(value))
        elif isinstance(value, str) and UNSTORABLE.search(value):
            errors[path] = ["Contains NUL or an unpaired surrogate (invalid Unicode)."]
        elif isinstance(value, float) and not math.isfinite(value):
            errors[path] = ["Must be a finite number."]
    return errors


def _printable(key: str) -> str:
    """A field name fit to be shown: NUL and unpaired surrogates escaped."""
    return UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", key)


def _payment_link(*sources: dict) -> str:
    for source in sources:
        for key in _LINK_KEYS:
            value = source.get(key)
            if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 500:
                return value
    return ""
