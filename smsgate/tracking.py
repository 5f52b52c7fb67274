"""Tracking: delivery receipts and inbound replies, applied forward-only.

Every callback is stored raw first (ProviderCallback, unique per carrier
event) and applied second, so a retried callback is a no-op and a receipt
that beats our own record of the send is applied once the send is recorded.
"""

import logging

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from providers.base import InboundMessage, StatusUpdate
from smsgate.models import Message, MessageEvent, ProviderCallback, Tenant
from smsgate.services import add_opt_out, remove_opt_out
from smsgate.statuses import Status, can_move

logger = logging.getLogger(__name__)

OPT_OUT_KEYWORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
                    "PARE", "SAIR", "ARRET", "ARRÊT", "СТОП"}
OPT_IN_KEYWORDS = {"START", "UNSTOP", "YES"}


def record_delivery(provider: str, update: StatusUpdate) -> bool:
    """Store and apply one receipt. Returns False if it was a duplicate."""
    try:
        with transaction.atomic():
            callback = ProviderCallback.objects.create(
                provider=provider,
                kind=ProviderCallback.Kind.DELIVERY,
                event_key=update.event_key[:200],
                provider_message_id=update.provider_message_id,
                payload=_jsonable(update),
            )
    except IntegrityError:
        return False
    if _apply(provider, update):
        ProviderCallback.objects.filter(pk=callback.pk).update(matched=True)
    return True


def apply_unmatched_receipts(sends: list[tuple[str, str]]) -> None:
    """Apply receipts that arrived before the sends they belong to were recorded.

    `sends` are (provider, provider message id) pairs just recorded; one query finds them all.
    """
    if not sends or not _any_unmatched([provider_message_id for _, provider_message_id in sends]):
        return
    wanted = set(sends)
    pending = ProviderCallback.objects.filter(
        kind=ProviderCallback.Kind.DELIVERY, matched=False,
        provider_message_id__in=[provider_message_id for _, provider_message_id in sends],
    ).order_by("received_at")
    for callback in pending:
        if (callback.provider, callback.provider_message_id) not in wanted:
            continue
        payload = callback.payload
        update = StatusUpdate(
            provider_message_id=callback.provider_message_id,
            status=payload["status"],
            error_code=payload.get("error_code", ""),
            error_message=payload.get("error_message", ""),
        )
        _apply(callback.provider, update)
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


def record_inbound(provider: str, inbound: InboundMessage) -> bool:
    """Store one inbound reply and act on STOP/START keywords. False if a duplicate."""
    key = inbound.provider_message_id or f"{inbound.sender}:{inbound.body}:{timezone.now():%Y%m%d%H%M}"
    try:
        with transaction.atomic():
            ProviderCallback.objects.create(
                provider=provider, kind=ProviderCallback.Kind.INBOUND, event_key=key[:200],
                provider_message_id=inbound.provider_message_id, payload=_jsonable(inbound), matched=True,
            )
    except IntegrityError:
        return False
    keyword = inbound.body.strip().upper()
    if keyword in OPT_OUT_KEYWORDS:
        add_opt_out(tenant=_tenant_for_reply(provider, inbound), phone=inbound.sender, source="keyword",
                    keyword=keyword)
    elif keyword in OPT_IN_KEYWORDS:
        remove_opt_out(tenant=_tenant_for_reply(provider, inbound), phone=inbound.sender)
    return True


def _apply(provider: str, update: StatusUpdate) -> bool:
    """Move the message forward if this receipt is news. False if no message matches yet."""
    message = Message.objects.filter(provider=provider, provider_message_id=update.provider_message_id).first()
    if message is None:
        return False
    MessageEvent.objects.create(
        message=message, kind=MessageEvent.Kind.RECEIPT, provider=provider, status=update.status,
        ok=update.status not in (Status.FAILED, Status.UNDELIVERED),
        error_code=update.error_code[:30], error_message=update.error_message[:500],
        raw=update.raw if isinstance(update.raw, dict) else {},
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


def _tenant_for_reply(provider: str, inbound: InboundMessage) -> Tenant:
    """The tenant that last texted this number through this provider, else the default one."""
    last = (
        Message.objects.filter(provider=provider, to=inbound.sender)
        .select_related("tenant").order_by("-created_at").first()
    )
    if last:
        return last.tenant
    return Tenant.objects.get(slug=Tenant.DEFAULT_SLUG)


def _jsonable(item) -> dict:
    data = {k: v for k, v in vars(item).items() if k not in ("raw", "occurred_at")}
    data["raw"] = item.raw if isinstance(item.raw, (dict, list, str)) else None
    return data
