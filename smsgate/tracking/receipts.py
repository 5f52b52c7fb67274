"""Tracking: delivery receipts and inbound replies, applied forward-only, each within one account.

Every callback is stored raw first (ProviderCallback, unique per carrier
event and account) and applied second, so a retried callback is a no-op and
a receipt that beats our own record of the send is applied once the send is
recorded.

A callback speaks for the account whose credentials authenticated it
(`account_id`; None for the platform's settings credentials): its receipts
touch only messages sent through that account, and its replies and STOPs
land on that account's tenant. A receipt that matches nothing of its account
is stored unmatched, never applied elsewhere.
"""

import hashlib
import logging
import re

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from providers.base import InboundMessage, StatusUpdate, UnusableCallback
from smsgate.input_safety import storable, unstorable
from smsgate.models import Message, MessageEvent, OptOut, ProviderCallback, Tenant
from smsgate.optouts import add_opt_out, remove_opt_out
from smsgate.statuses import Status, can_move

logger = logging.getLogger(__name__)

OPT_OUT_KEYWORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
                    "PARE", "SAIR", "ARRET", "ARRÊT", "СТОП"}
OPT_IN_KEYWORDS = {"START", "UNSTOP", "YES"}


def _max_length(model, field: str) -> int:
    return model._meta.get_field(field).max_length


# The most characters each normalised field may have: what its column holds. These are keys
# (a message's id, an opt-out's phone, part of a callback's event key), so nothing is cut short.
LIMITS = {
    StatusUpdate: {"provider_message_id": _max_length(Message, "provider_message_id"),
                   "error_code": _max_length(Message, "error_code")},
    InboundMessage: {"provider_message_id": _max_length(ProviderCallback, "provider_message_id"),
                     "sender": _max_length(OptOut, "phone"), "recipient": _max_length(Message, "to")},
}
REQUIRED = {StatusUpdate: ("provider_message_id",), InboundMessage: ("sender",)}
# A reply's sender becomes an opt-out's phone: digits, with or without the leading +.
PHONE = re.compile(r"\+?[0-9]+")


def check_storable(item: StatusUpdate | InboundMessage) -> None:
    """UnusableCallback naming every field of a parsed callback that cannot be stored and used as it is."""
    errors = {}
    limits = LIMITS[type(item)]
    for name, value in vars(item).items():
        if not isinstance(value, str):
            continue
        if problem := unstorable(value):
            errors[name] = problem
        elif name in limits and len(value) > limits[name]:
            errors[name] = f"longer than {limits[name]} characters"
        elif name in REQUIRED[type(item)] and not value:
            errors[name] = "missing"
        elif name == "sender" and not PHONE.fullmatch(value):
            errors[name] = "not a phone number"
    if errors:
        raise UnusableCallback(errors)


def _scoped(account_id: int | None, event_key: str) -> str:
    """A carrier event's key within its account: two accounts' ids may coincide (SMSC's are per account).

    The platform's keys are unprefixed, as before accounts were recorded.
    """
    return event_key if account_id is None else f"account-{account_id}:{event_key}"


def record_delivery(provider: str, update: StatusUpdate, *, account_id: int | None = None) -> bool:
    """Store and apply one receipt of `account_id`'s (None: the platform's). False if it was a duplicate."""
    try:
        with transaction.atomic():
            callback = ProviderCallback.objects.create(
                provider=provider,
                provider_account_id=account_id,
                kind=ProviderCallback.Kind.DELIVERY,
                event_key=_scoped(account_id, update.event_key),
                provider_message_id=update.provider_message_id,
                payload=_jsonable(update),
            )
    except IntegrityError:
        return False
    if _apply(provider, account_id, update):
        ProviderCallback.objects.filter(pk=callback.pk).update(matched=True)
    return True


def record_unusable(provider: str, kind: str, body: bytes, errors: dict[str, str], *,
                    account_id: int | None = None) -> None:
    """Keep an authentic callback that could not be used, raw, to read later; stored once per distinct body."""
    try:
        with transaction.atomic():
            ProviderCallback.objects.create(
                provider=provider, provider_account_id=account_id, kind=kind,
                event_key=_scoped(account_id, f"unusable:{hashlib.sha256(body).hexdigest()}"),
                payload={"body": storable(body.decode("utf-8", "replace")), "errors": errors},
                problem="; ".join(f"{name}: {problem}" for name, problem in errors.items())[:500],
            )
    except IntegrityError:
        pass  # the carrier retried it


def apply_unmatched_receipts(sends: list[tuple[str, int | None, str]]) -> None:
    """Apply receipts that arrived before the sends they belong to were recorded.

    `sends` are (provider, account id, provider message id) of sends just recorded;
    one query finds them all. A receipt is applied only to a send of its own account.
    """
    if not sends or not _any_unmatched([provider_message_id for _, _, provider_message_id in sends]):
        return
    wanted = set(sends)
    pending = ProviderCallback.objects.filter(
        kind=ProviderCallback.Kind.DELIVERY, matched=False,
        provider_message_id__in=[provider_message_id for _, _, provider_message_id in sends],
    ).order_by("received_at")
    for callback in pending:
        if (callback.provider, callback.provider_account_id, callback.provider_message_id) not in wanted:
            continue
        payload = callback.payload
        update = StatusUpdate(
            provider_message_id=callback.provider_message_id,
            status=payload["status"],
            error_code=payload.get("error_code", ""),
            error_message=payload.get("error_message", ""),
        )
        _apply(callback.provider, callback.provider_account_id, update)
        ProviderCallback.objects.filter(pk=callback.pk).update(matched=True)


def _any_unmatched(provider_message_ids: list[str]) -> bool:
    """Whether any unmatched receipt names one of these ids: almost never, so in plain SQL (no ORM compiling)."""
    table = connection.ops.quote_name(ProviderCallback._meta.db_table)
    # Only our own table name is interpolated; every value is a parameter.
    sql = (f"SELECT 1 FROM {table} WHERE kind = %s AND matched = %s "  # noqa: S608
           f"AND provider_message_id IN ({', '.join(['%s'] * len(provider_message_ids))}) LIMIT 1")
    with connection.cursor() as cursor:
        cursor.execute(sql, [ProviderCallback.Kind.DELIVERY.value, False, *provider_message_ids])
        return cursor.fetchone() is not None


def record_inbound(provider: str, inbound: InboundMessage, *, account_id: int | None = None) -> bool:
    """Store one inbound reply and act on STOP/START keywords for the account's tenant. False if a duplicate."""
    key = inbound.provider_message_id or _keyless_reply_key(inbound)
    try:
        with transaction.atomic():
            ProviderCallback.objects.create(
                provider=provider, provider_account_id=account_id, kind=ProviderCallback.Kind.INBOUND,
                event_key=_scoped(account_id, key), provider_message_id=inbound.provider_message_id,
                payload=_jsonable(inbound), matched=True,
            )
    except IntegrityError:
        return False
    keyword = inbound.body.strip().upper()
    if keyword in OPT_OUT_KEYWORDS:
        add_opt_out(tenant=_tenant_for_reply(provider, account_id, inbound), phone=inbound.sender, source="keyword",
                    keyword=keyword)
    elif keyword in OPT_IN_KEYWORDS:
        remove_opt_out(tenant=_tenant_for_reply(provider, account_id, inbound), phone=inbound.sender)
    return True


def _keyless_reply_key(inbound: InboundMessage) -> str:
    """A reply without a carrier id: the same text from the same number within a minute is one reply."""
    digest = hashlib.sha256(inbound.body.encode()).hexdigest()[:16]
    return f"{inbound.sender}:{digest}:{timezone.now():%Y%m%d%H%M}"


def _apply(provider: str, account_id: int | None, update: StatusUpdate) -> bool:
    """Move the account's message forward if this receipt is news. False if none of its messages matches yet."""
    message = Message.objects.filter(
        provider=provider, provider_account_id=account_id, provider_message_id=update.provider_message_id,
    ).first()
    if message is None:
        return False
    MessageEvent.objects.create(
        message=message, kind=MessageEvent.Kind.RECEIPT, provider=provider, status=update.status,
        ok=update.status not in (Status.FAILED, Status.UNDELIVERED),
        error_code=update.error_code[:30], error_message=update.error_message[:500],
        raw=storable(update.raw) if isinstance(update.raw, dict) else {},
    )
    if not can_move(message.status, update.status):
        return True
    fields = {"status": update.status}
    if update.status == Status.DELIVERED:
        fields["delivered_at"] = update.occurred_at or timezone.now()
    if update.error_code or update.error_message:
        fields.update(error_code=update.error_code[:30], error_message=update.error_message[:500])
    # Conditional on the status we read, so two receipts racing cannot move it backwards.
    Message.objects.filter(pk=message.pk, status=message.status).update(**fields)
    return True


def _tenant_for_reply(provider: str, account_id: int | None, inbound: InboundMessage) -> Tenant:
    """The tenant whose account received the reply.

    For the platform's credentials: the tenant that last texted this number
    through them, else the default one.
    """
    if account_id is not None:
        return Tenant.objects.get(provider_accounts=account_id)
    last = (
        Message.objects.filter(provider=provider, provider_account_id=None, to=inbound.sender)
        .select_related("tenant").order_by("-created_at").first()
    )
    if last:
        return last.tenant
    return Tenant.objects.get(slug=Tenant.DEFAULT_SLUG)


def _jsonable(item) -> dict:
    data = {k: v for k, v in vars(item).items() if k not in ("raw", "occurred_at")}
    data["raw"] = item.raw if isinstance(item.raw, (dict, list, str)) else None
    return storable(data)
