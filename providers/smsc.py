"""SMSC.ru (SMS Center) over its HTTP API: send.php, status.php, balance.php with fmt=3 (JSON).

Every call is a form POST to `<base_url>/sys/<name>.php` (SMSC accepts GET or
POST; POST keeps the password out of URLs and access logs). SMSC answers
HTTP 200 with `{"error": ..., "error_code": N}` when it refuses a request.

SMSC's status query needs the phone as well as the message id, so the
provider message id we store is `<smsc id>:<phone digits>`; a delivery
callback carries both and rebuilds the same key.
"""

import re
from datetime import datetime

from providers.base import (
    Balance,
    PermanentProviderError,
    ProviderAuthError,
    ProviderError,
    RateLimitedError,
    SendResult,
    StatusUpdate,
    TransientProviderError,
    UnusableCallback,
)
from providers.http import HttpProvider, Response
from providers.webhook_auth import check_url_secret
from providers.wire import json_object, text_field, to_decimal, to_int, unix_time

# SMSC error codes (send.php; status.php and balance.php use a subset).
PERMANENT_ERRORS = {
    1: "error in parameters",
    5: "wrong date format",
    6: "message forbidden (text or sender name)",
    7: "wrong phone number format",
    8: "message cannot be delivered to this number",
}
AUTH_ERROR = 2  # wrong login/password, or our IP is not allowed
RATE_LIMIT_ERROR = 9  # duplicate request within a minute, or too many concurrent ones
# 3 (insufficient funds) and 4 (IP temporarily blocked) are about our account,
# not the message: another provider, or a later try, may succeed.

# SMSC message status codes (status.php and delivery callbacks), as smsgate statuses.
STATUS_MAP = {
    -2: "cancelled",  # stopped in the SMSC account
    -1: "sent",  # waiting at SMSC to be sent
    0: "sent",  # handed to the operator
    1: "delivered",
    2: "delivered",  # read
    3: "expired",
    4: "delivered",  # link clicked
    20: "undelivered",  # impossible to deliver
    22: "failed",  # wrong number
    23: "failed",  # prohibited
    24: "failed",  # insufficient funds
    25: "undelivered",  # unavailable number
}
NOT_FOUND = -3

# SMSC's own message ids are 32-bit; ours are used when they fit.
MAX_CLIENT_ID = 2_147_483_647


class SmscProvider(HttpProvider):
    name = "smsc"
    callback_kinds = ("delivery",)
    sender_key = "sender"
    max_length = 1000
    settings_prefix = "SMSC_"
    required_credentials = ("login", "password")
    # `cost` comes without a currency: it is the account's (RUB on smsc.ru; KZT, UAH, ... on the other SMSC sites).
    optional_settings = {"sender": "", "base_url": "https://smsc.ru", "webhook_secret": "", "currency": "RUB"}

    def send(self, message) -> SendResult:
        params = {"phones": message.to, "mes": message.body, "charset": "utf-8", "cost": 3}
        if self.sender:
            params["sender"] = self.sender
        if message.pk and message.pk <= MAX_CLIENT_ID:
            params["id"] = message.pk
        data = self._post("send", params)
        smsc_id = data.get("id")
        if smsc_id is None:
            raise TransientProviderError("SMSC answered without a message id", raw=data)
        return SendResult(
            provider_message_id=message_key(smsc_id, message.to),
            status="sent",
            segments=to_int(data.get("cnt")),
            price=(price := to_decimal(data.get("cost"))),
            price_unit=self.currency if price is not None else "",
            raw=data,
        )

    def fetch_status(self, provider_message_id: str) -> StatusUpdate | None:
        smsc_id, _, digits = provider_message_id.partition(":")
        if not digits:
            return None  # not an id this backend made
        data = self._post("status", {"phone": digits, "id": smsc_id})
        try:
            occurred_at = unix_time(data.get("last_timestamp"), "last_timestamp")
        except UnusableCallback:
            occurred_at = None  # the status is still news without it
        return _status_update(provider_message_id, data.get("status"), data.get("err"), occurred_at, raw=data)

    def balance(self) -> Balance:
        data = self._post("balance", {"cur": 1})
        amount = to_decimal(data.get("balance"))
        if amount is None:
            raise TransientProviderError("SMSC answered without a balance", raw=data)
        extra = {"credit": data["credit"]} if "credit" in data else {}
        return Balance(amount=amount, currency=data.get("currency", ""), extra=extra)

    def authenticate_callback(self, request, kind: str) -> None:
        """The secret in the handler URL (?secret=...).

        SMSC can also sign callbacks with a hash parameter, but the string it
        hashes is not documented where we could verify it, so we rely on a
        secret URL (set the handler URL in the SMSC account to
        `.../api/v1/sms/delivery/smsc?secret=<SMSC_WEBHOOK_SECRET>`).
        """
        check_url_secret(request, self.webhook_secret)

    def parse_delivery(self, request) -> list[StatusUpdate]:
        data = _callback_fields(request)
        smsc_id, phone = text_field(data, "id"), text_field(data, "phone")
        if not smsc_id or not phone:
            return []
        occurred_at = unix_time(data.get("ts"), "ts")
        update = _status_update(message_key(smsc_id, phone), text_field(data, "status"), text_field(data, "err"),
                                occurred_at, raw=data)
        return [update] if update else []

    def _post(self, endpoint: str, params: dict) -> dict:
        """POST to /sys/<endpoint>.php with our login: its JSON answer."""
        form = {"login": self.login, "psw": self.password, "fmt": 3, **params}
        return self.request("POST", f"/sys/{endpoint}.php", data=form).data

    def raise_for_response(self, response: Response) -> None:
        """SMSC refuses with HTTP 200 and `{"error": ..., "error_code": N}`; any other status is its health."""
        if response.status_code == 429:
            raise RateLimitedError("SMSC: HTTP 429", code=429)
        if response.status_code != 200:
            raise TransientProviderError(f"SMSC: HTTP {response.status_code}", code=response.status_code)
        data = response.data
        if data is None:
            raise TransientProviderError(f"SMSC: not JSON: {response.text[:200]!r}")
        if not isinstance(data, dict):
            raise TransientProviderError(f"SMSC: unexpected answer {data!r:.200}")
        if "error_code" in data or "error" in data:
            raise error_from(data)


def message_key(smsc_id, phone: str) -> str:
    """Our provider message id for an SMSC message: `<id>:<phone digits>`."""
    digits = re.sub(r"\D", "", str(phone))
    return f"{smsc_id}:{digits}"


def error_from(data: dict) -> ProviderError:
    """The ProviderError for an SMSC `{"error": ..., "error_code": N}` answer."""
    code = to_int(data.get("error_code"))
    text = f"SMSC error {code}: {data.get('error') or PERMANENT_ERRORS.get(code, 'unknown error')}"
    if code == AUTH_ERROR:
        return ProviderAuthError(text, code=code, raw=data)
    if code == RATE_LIMIT_ERROR:
        return RateLimitedError(text, code=code, raw=data)
    if code in PERMANENT_ERRORS:
        return PermanentProviderError(text, code=code, raw=data)
    return TransientProviderError(text, code=code, raw=data)


def _status_update(key: str, status, err, occurred_at: datetime | None, *, raw) -> StatusUpdate | None:
    code = to_int(status)
    if code == NOT_FOUND or code not in STATUS_MAP:
        return None
    error_code = str(err) if err not in (None, "", 0, "0") else ""
    return StatusUpdate(provider_message_id=key, status=STATUS_MAP[code], error_code=error_code,
                        occurred_at=occurred_at, raw=raw)


def _callback_fields(request) -> dict:
    """SMSC posts a form, or JSON when the handler URL asks for fmt=3 (whatever the Content-Type says)."""
    if not request.body.lstrip().startswith(b"{"):
        return request.POST.dict()
    return json_object(request.body)


