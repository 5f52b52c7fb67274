"""SpotHit (spot-hit.fr): SMS, long SMS, scheduled campaigns, per-recipient variables.

Wire format (shared/PROVIDERS.md §4): form POST /api/envoyer/sms with `key`,
`type`, `destinataires`, `message`, `expediteur`, optional `date` (unix time of
a scheduled send), `smslong=1` + `smslongnbr=<parts>` for concatenated SMS and
`url` for delivery-receipt pushes. Answers are JSON: `{"resultat":1,"id":..}`
(the campaign id) or `{"resultat":0,"erreurs":"1,4"}`; HTTP 403 with
`{"erreurs":[100]}` has been seen too. Credits: POST /api/credits.

Delivery receipts are pushed as a form (id_accuse, id_message, numero, statut,
...) to the `url` we give, which carries our secret (`?secret=`): SpotHit signs
nothing. Its reply/STOP push payload is not public, so inbound is unsupported.
MMS is not implemented: its wire format is undocumented (docs/PROVIDERS.md).
"""

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote

from providers.base import (
    Balance,
    PermanentProviderError,
    ProviderAuthError,
    RateLimitedError,
    SendResult,
    StatusUpdate,
    TransientProviderError,
    UnusableCallback,
)
from providers.http import HttpProvider, Response
from providers.segments import count_segments
from providers.webhook_auth import check_url_secret
from providers.wire import error_for_status, to_decimal, to_int, unix_time

# What SpotHit's error codes mean (SocialGouv/domifa's table), for operators reading a failure.
MEANINGS = {
    1: "bad or missing type", 2: "empty message", 3: "over 160 characters without smslong",
    4: "no valid recipient", 5: "number forbidden", 6: "invalid recipient", 7: "no plan on the account",
    8: "invalid sender", 9: "system error", 10: "not enough credits", 11: "sending disabled (demo account)",
    12: "account suspended", 13: "sending limit reached", 14: "sending limit reached",
    15: "sending limit reached", 16: "smslongnbr does not match the message size", 17: "sender not allowed",
    21: "invalid token", 23: "no valid date", 24: "marketing message lacks a STOP mention", 30: "unknown API key",
    36: "emojis not allowed", 38: "marketing message lacks a STOP mention", 50: "bad timezone",
    99: "account suspended",
}
ACCOUNT_CODES = {7, 11, 12, 17, 21, 30, 99}  # no plan, demo, suspended, sender not allowed, bad key/token
RATE_CODES = {13, 14, 15}
TRANSIENT_CODES = {9, 10}  # system error, not enough credits (may be topped up)
# The first class in this order that any returned code maps to wins: a message that
# can never be sent fails even if the account also has a problem.
SEVERITY = (PermanentProviderError, ProviderAuthError, RateLimitedError, TransientProviderError)

# SpotHit's delivery statuses (0 pending, 1 delivered, 2 sent, 3 in progress, 4 failed, 5 expired).
STATUS_MAP = {"0": "sent", "1": "delivered", "2": "sent", "3": "sent", "4": "failed", "5": "expired"}


def _class_for(code: int):
    if code in ACCOUNT_CODES:
        return ProviderAuthError
    if code in RATE_CODES:
        return RateLimitedError
    if code in TRANSIENT_CODES:
        return TransientProviderError
    return PermanentProviderError


def render(template: str, variables: Mapping[str, str]) -> str:
    """A message as SpotHit renders `{name}` placeholders for one recipient (to count its parts)."""
    for name, value in variables.items():
        template = template.replace("{" + name + "}", str(value))
    return template


class SpotHitProvider(HttpProvider):
    name = "spothit"
    sender_key = "sender"
    callback_url_keys = ("delivery_url",)
    callback_kinds = ("delivery",)
    max_length = 459  # 3 concatenated GSM-7 parts, the most the client libraries send [3P]
    settings_prefix = "SPOTHIT_"
    required_credentials = ("api_key",)
    optional_settings = {"sender": "", "sms_type": "premium", "webhook_secret": "", "delivery_url": ""}

    @classmethod
    def config_from_settings(cls, settings) -> dict:
        """Receipts are pushed to our delivery URL, which carries the secret (SpotHit signs nothing)."""
        config = super().config_from_settings(settings)
        if settings.PUBLIC_BASE_URL and config["webhook_secret"]:
            config["delivery_url"] = (f"{settings.PUBLIC_BASE_URL}/api/v1/sms/delivery/spothit"
                                      f"?secret={quote(config['webhook_secret'])}")
        return config

    def send(self, message, *, scheduled_at: datetime | None = None) -> SendResult:
        """Send one SMS; `scheduled_at` lets SpotHit hold it (the core itself only sends when due)."""
        parts = count_segments(message.body).segments
        form = self._form(message.body, parts, scheduled_at)
        form["destinataires"] = _number(message.to)
        return self._submit(form, parts)

    def send_bulk(self, recipients: Mapping[str, Mapping[str, str]], message_template: str, *,
                  scheduled_at: datetime | None = None) -> SendResult:
        """One campaign to many numbers, each with its own `{variable}` values; returns the campaign id.

        `recipients` maps an E.164 number to its variables (at least one each: SpotHit
        lists a `datas` recipient only through its variables).
        """
        if not recipients or not all(recipients.values()):
            raise ValueError("every recipient needs at least one variable")
        parts = max(count_segments(render(message_template, variables)).segments
                    for variables in recipients.values())
        form = self._form(message_template, parts, scheduled_at)
        form["destinataires_type"] = "datas"
        for phone, variables in recipients.items():
            for name, value in variables.items():
                form[f"destinataires[{_number(phone)}][{name}]"] = str(value)
        return self._submit(form, parts)

    def balance(self) -> Balance:
        data = _object(self.request("POST", "/api/credits", data={"key": self.api_key}))
        amount = to_decimal(data.get("premium"))
        if amount is None:
            raise TransientProviderError("SpotHit credits answer has no `premium` count", raw=data)
        return Balance(amount=amount, currency="credits",
                       extra={key: data.get(key) for key in ("lowcost", "mms", "euros")})

    def fetch_status(self, provider_message_id: str) -> StatusUpdate | None:
        """Poll /api/dlr for a campaign (one row per number; ours have one): for when no push is set up."""
        data = self.request("POST", "/api/dlr", data={"key": self.api_key, "id": provider_message_id}).data
        if not isinstance(data, list):
            raise TransientProviderError(f"SpotHit answered no rows: {data!r:.200}", raw=data)
        row = data[0] if data and isinstance(data[0], list) and len(data[0]) >= 5 else None
        status = STATUS_MAP.get(str(row[1])) if row else None
        if status is None:
            return None
        return StatusUpdate(provider_message_id=provider_message_id, status=status,
                            error_code=_failure_detail(status, str(row[4])), occurred_at=_timestamp(row[3]),
                            raw=row)

    def authenticate_callback(self, request, kind: str) -> None:
        check_url_secret(request, self.webhook_secret)

    def parse_delivery(self, request) -> list[StatusUpdate]:
        data = request.POST
        status = STATUS_MAP.get(data.get("statut", ""))
        if not data.get("id_message") or status is None:
            return []
        return [
            StatusUpdate(
                provider_message_id=data["id_message"],
                status=status,
                error_code=_failure_detail(status, data.get("statut_code", "")),
                occurred_at=unix_time(data.get("date_update"), "date_update"),
                raw=data.dict(),
            )
        ]

    def _form(self, body: str, parts: int, scheduled_at: datetime | None) -> dict[str, str]:
        form = {"key": self.api_key, "type": self.sms_type, "message": body}
        if self.sender:
            form["expediteur"] = self.sender
        if parts > 1:
            form.update(smslong="1", smslongnbr=str(parts))
        if scheduled_at is not None:
            form["date"] = str(int(scheduled_at.timestamp()))
        if self.delivery_url:
            form["url"] = self.delivery_url
        return form

    def _submit(self, form: dict[str, str], parts: int) -> SendResult:
        data = _object(self.request("POST", "/api/envoyer/sms", data=form))
        if not data.get("id"):
            raise TransientProviderError(f"SpotHit answered without a campaign id: {data!r:.200}", raw=data)
        return SendResult(provider_message_id=str(data["id"]), segments=parts, raw=data)

    def raise_for_response(self, response: Response) -> None:
        """Success is HTTP 200 with JSON: `resultat` 1, or a list (/api/dlr's rows); errors list their codes."""
        data = response.data
        if response.status_code != 200 or not (isinstance(data, list) or isinstance(data, dict) and _ok(data)):
            raise _error(response, data)


def _object(response: Response) -> dict:
    """The JSON object a successful call answers."""
    if not isinstance(response.data, dict):
        raise TransientProviderError(f"SpotHit answered {response.text[:200]!r}")
    return response.data


def _ok(data: dict) -> bool:
    return str(data.get("resultat")).lower() in ("1", "true")


def _codes(errors) -> list[int]:
    """`erreurs` is documented as "1,4,2"; a list of numbers has been seen as well."""
    items = errors if isinstance(errors, list) else str(errors or "").split(",")
    return [code for code in (to_int(str(item).strip()) for item in items) if code is not None]


def _error(response, data):
    codes = _codes(data.get("erreurs")) if isinstance(data, dict) else []
    described = "; ".join(f"{code} {MEANINGS.get(code, 'unknown error')}" for code in codes)
    text = f"SpotHit error {described}" if codes else f"SpotHit answered {response.text[:200]!r}"
    if response.status_code != 200:
        return error_for_status(response.status_code, text, code=",".join(map(str, codes)) or None, raw=data)
    if not codes:
        return TransientProviderError(text, raw=data)
    classes = {_class_for(code): code for code in reversed(codes)}
    cls = next(cls for cls in SEVERITY if cls in classes)
    return cls(text, code=classes[cls], raw=data)


def _failure_detail(status: str, detail: str) -> str:
    """SpotHit's detailed status code (0-9999) is worth keeping only on a failure."""
    return detail if status in ("failed", "expired") and detail not in ("", "0") else ""


def _number(phone: str) -> str:
    """SpotHit takes international numbers as digits (33612345678)."""
    return phone.lstrip("+")


def _timestamp(value) -> datetime | None:
    """A polled row's update time; None if SpotHit sent none we can read (the receipt is still news)."""
    try:
        return unix_time(value, "date_mise_a_jour")
    except UnusableCallback:
        return None
