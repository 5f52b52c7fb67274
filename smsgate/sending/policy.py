"""Sending policy: one ordered list of checks that every submitted message goes through.

Every road (API, bulk, leads, recovery, campaigns, test SMS, resend) submits
through `smsgate.sending.submit.submit`, which asks `judge` about each batch
before anything is written. A check sees the batch (tenant, message type, and
each message's number, text and due time) and answers, per message index,
either a `Refusal` (the message must not go out, and why) or a `Hold` (it may
go out, but not before a time). The first refusal in the list's order is the
one reported; holds add up to the latest time.

The list, in order: opt-out, safeguard, marketing consent, quiet hours,
length. An app adds its own check with `register_check` (from its
AppConfig.ready), never by changing a message after it was saved.

Before a message is handed to a carrier, dispatch asks `refusal_reasons`
again: an opt-out or a safeguard change since submission still stops it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection

from smsgate.models import MarketingConsent, MessageType, OptOut, Tenant
from smsgate.phones import InvalidPhoneNumber, normalize_phone
from smsgate.quiet_hours import quiet_until, window_for

NO_MARKETING_CONSENT = "no marketing consent recorded for this number"


@dataclass(frozen=True)
class Candidate:
    """A message as policy sees it, before it is written."""

    to: str
    body: str
    due_at: datetime


@dataclass(frozen=True)
class Batch:
    tenant: Tenant
    message_type: str
    candidates: list[Candidate]


@dataclass(frozen=True)
class Refusal:
    field: str  # the request field the refusal is about: "phone" or "message"
    reason: str


@dataclass(frozen=True)
class Hold:
    until: datetime


Check = Callable[[Batch], dict[int, Refusal | Hold]]


@dataclass(frozen=True)
class Decision:
    refusal: Refusal | None = None
    hold_until: datetime | None = None


_CHECKS: list[tuple[str, Check]] = []


def register_check(name: str, check: Check, *, before: str | None = None) -> None:
    """Add a check to the list, at the end or before the check named `before`. Registering a name again replaces it."""
    _CHECKS[:] = [(n, c) for n, c in _CHECKS if n != name]
    names = [n for n, _ in _CHECKS]
    position = names.index(before) if before in names else len(_CHECKS)
    _CHECKS.insert(position, (name, check))


def check_names() -> list[str]:
    return [name for name, _ in _CHECKS]


def judge(batch: Batch) -> list[Decision]:
    """One decision per candidate, in order: every check runs once for the whole batch."""
    refusals: dict[int, Refusal] = {}
    holds: dict[int, datetime] = {}
    for _, check in _CHECKS:
        for index, verdict in check(batch).items():
            if isinstance(verdict, Refusal):
                refusals.setdefault(index, verdict)
            else:
                holds[index] = max(verdict.until, holds.get(index, verdict.until))
    return [Decision(refusals.get(i), holds.get(i)) for i in range(len(batch.candidates))]


def refusal_reasons(*, tenant: Tenant, phones: list[str]) -> dict[str, str]:
    """What still stops a message just before it is sent: the numbers among `phones` that opted out or are unsafe."""
    reasons = {phone: _SAFEGUARD for phone in _unsafe(tenant, phones)}
    reasons.update({phone: _OPTED_OUT for phone in _opted_out(tenant, phones)})
    return reasons


_OPTED_OUT = "recipient opted out"
_SAFEGUARD = "safeguard: number is not in SAFE_PHONE_NUMBERS"


def _by_phone(batch: Batch, phones: set[str], verdict: Refusal) -> dict[int, Refusal]:
    return {i: verdict for i, c in enumerate(batch.candidates) if c.to in phones}


def check_opt_out(batch: Batch) -> dict[int, Refusal]:
    phones = _opted_out(batch.tenant, [c.to for c in batch.candidates])
    return _by_phone(batch, phones, Refusal("phone", _OPTED_OUT))


def check_safeguard(batch: Batch) -> dict[int, Refusal]:
    phones = _unsafe(batch.tenant, [c.to for c in batch.candidates])
    return _by_phone(batch, phones, Refusal("phone", _SAFEGUARD))


def check_marketing_consent(batch: Batch) -> dict[int, Refusal]:
    """Marketing goes only to numbers with a recorded consent (lead forms, operator uploads)."""
    if batch.message_type != MessageType.MARKETING:
        return {}
    phones = {c.to for c in batch.candidates}
    consented = _numbers_among(MarketingConsent, batch.tenant, phones)
    return _by_phone(batch, phones - consented, Refusal("phone", NO_MARKETING_CONSENT))


def check_quiet_hours(batch: Batch) -> dict[int, Hold]:
    """Marketing due inside the tenant's quiet hours waits for them to end (in the recipient's time zone)."""
    window = window_for(batch.tenant)
    if batch.message_type != MessageType.MARKETING or not window:
        return {}
    holds = {}
    for index, candidate in enumerate(batch.candidates):
        until = quiet_until(phone=candidate.to, message_type=batch.message_type, window_text=window,
                            now=candidate.due_at)
        if until:
            holds[index] = Hold(until)
    return holds


def check_length(batch: Batch) -> dict[int, Refusal]:
    limit = settings.SMS_MAX_BODY_CHARS
    return {
        i: Refusal("message", f"The message is {len(c.body)} characters; the limit is {limit}.")
        for i, c in enumerate(batch.candidates) if len(c.body) > limit
    }


def _opted_out(tenant: Tenant, phones: list[str]) -> set[str]:
    """The numbers among `phones` that opted out of this tenant's messages."""
    return _numbers_among(OptOut, tenant, set(phones))


def _numbers_among(model, tenant: Tenant, phones: set[str]) -> set[str]:
    """The numbers among `phones` that have a row of `model` (tenant, phone) for this tenant, in one query.

    The numbers travel as one comma-separated parameter (E.164 holds no comma): for a batch of 5,000
    (campaigns, dispatch chunks) an IN list, or an array psycopg quotes number by number, costs tens of ms.
    """
    if not phones:
        return set()
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        # Only our own table name is interpolated; the values are parameters.
        cursor.execute(f"SELECT phone FROM {table} "  # noqa: S608
                       "WHERE tenant_id = %s AND phone = ANY(string_to_array(%s, ','))",
                       [tenant.pk, ",".join(phones)])
        return {phone for (phone,) in cursor.fetchall()}


def _unsafe(tenant: Tenant, phones: list[str]) -> set[str]:
    """With the safeguard on (development, staging), the numbers not in SAFE_PHONE_NUMBERS."""
    if not settings.SMS_SAFEGUARD:
        return set()
    safe = set()
    for raw in settings.SAFE_PHONE_NUMBERS:
        try:
            safe.add(normalize_phone(raw, tenant.default_region))
        except InvalidPhoneNumber:
            continue
    return set(phones) - safe


for _name, _check in [("opt-out", check_opt_out), ("safeguard", check_safeguard),
                      ("marketing consent", check_marketing_consent), ("quiet hours", check_quiet_hours),
                      ("length", check_length)]:
    register_check(_name, _check)
