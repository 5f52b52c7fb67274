"""Dispatch: claim due messages, route them through the provider chain, record attempts.

A message is claimed by setting status `sending` and a fresh claim token in
one conditional UPDATE; only the holder of the token may record an outcome.
A claim that yields no outcome within SMS_CLAIM_STALE_SECONDS (dead worker,
lost task) is claimed again by the sweeper, so nothing is ever forgotten.
"""

import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from providers.base import ProviderError
from smsgate.models import Message, MessageEvent, Tenant
from smsgate.optouts import add_opt_out
from smsgate.sending.policy import refusal_reasons
from smsgate.sending.routing import Outcome, Router, retry_later
from smsgate.statuses import PENDING, Status
from smsgate.tracking.receipts import apply_unmatched_receipts

logger = logging.getLogger(__name__)


def claim_one(message_id: int) -> uuid.UUID | None:
    """Claim one due message for sending; None if it is not due or someone else has it."""
    token = uuid.uuid4()
    now = timezone.now()
    claimed = Message.objects.filter(pk=message_id, status__in=PENDING, due_at__lte=now).update(
        status=Status.SENDING, claim_token=token, claimed_at=now
    )
    return token if claimed else None


def claim_budget() -> int:
    """How many more messages may be claimed now without exceeding SMS_MAX_IN_FLIGHT.

    Stale claims do not count: they are what the sweeper must reclaim, and a cap
    full of them (tasks lost with a restarted broker) would otherwise stop all sending.
    """
    stale_before = timezone.now() - timedelta(seconds=settings.SMS_CLAIM_STALE_SECONDS)
    in_flight = Message.objects.filter(status=Status.SENDING, claimed_at__gte=stale_before).count()
    return max(0, min(settings.SMS_SWEEP_BATCH, settings.SMS_MAX_IN_FLIGHT - in_flight))


def claim_due(limit: int) -> tuple[uuid.UUID, list[int]]:
    """Claim up to `limit` due or stale messages at once, skipping rows others hold locked."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.SMS_CLAIM_STALE_SECONDS)
    token = uuid.uuid4()
    with transaction.atomic():
        due = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status__in=PENDING, due_at__lte=now)
            .order_by("due_at")
            .values_list("pk", flat=True)[:limit]
        )
        stale = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=Status.SENDING, claimed_at__lt=stale_before)
            .values_list("pk", flat=True)[: max(limit - len(due), 0)]
        )
        ids = due + stale
        if ids:
            Message.objects.filter(pk__in=ids).update(status=Status.SENDING, claim_token=token, claimed_at=now)
    if stale:
        logger.warning("reclaimed %d stale message(s): %s", len(stale), stale[:20])
    return token, ids


def deliver(message_ids: list[int], token: uuid.UUID) -> None:
    """Send claimed messages through their provider chains and record the outcomes.

    Outcomes are written in batches of SMS_DISPATCH_COMMIT_EVERY messages, one
    transaction each: a worker killed mid-chunk loses the records of at most
    that many sends, which are then claimed again (the bounded duplicates).
    Claims are renewed as work starts and again whenever a quarter of
    SMS_CLAIM_STALE_SECONDS has passed, so a slow chunk (a carrier timing out)
    is never taken over while its messages still wait their turn here; a
    message whose claim was taken over anyway is skipped, not sent twice.
    """
    renew_every = settings.SMS_CLAIM_STALE_SECONDS / 4
    # A claim made less than `renew_every` ago needs no write yet: the loop below
    # renews it by the time it is half stale.
    held = _renew(message_ids, token, unless_since=timezone.now() - timedelta(seconds=renew_every))
    if not held:
        return  # taken over, or cancelled meanwhile
    messages = _load(held)
    refusals = _refusals(messages)
    router = Router(timezone.now())
    renewed_at = time.monotonic()
    batch: list[Outcome] = []
    for index, message in enumerate(messages):
        if time.monotonic() - renewed_at > renew_every:
            _finish(router, batch, token)
            batch = []
            held = _renew([m.pk for m in messages[index:]], token)
            renewed_at = time.monotonic()
        if message.pk not in held:
            continue
        if not batch:
            router.start_batch(min(settings.SMS_DISPATCH_COMMIT_EVERY, len(messages) - index))
        batch.append(_route(router, message, refusals.get((message.tenant_id, message.to), "")))
        if len(batch) >= settings.SMS_DISPATCH_COMMIT_EVERY:
            _finish(router, batch, token)
            batch = []
    _finish(router, batch, token)


def _route(router: Router, message: Message, refusal: str) -> Outcome:
    """The router's outcome for `message`; a crash while routing it counts as a failed try.

    So a message whose routing always crashes (e.g. a tenant row saved with a bad
    setting) is retried and then failed, never left in `sending` to be reclaimed forever.
    """
    try:
        return router.route(message, refusal)
    except Exception as exc:
        logger.exception("routing message %s crashed", message.pk)
        return retry_later(message, [ProviderError(f"internal error while routing ({type(exc).__name__})")], [],
                           router.now)


def _finish(router: Router, outcomes: list[Outcome], token: uuid.UUID) -> None:
    """End a batch: give back the rate-limit tokens it did not use, write its outcomes."""
    router.finish_batch()
    record_outcomes(outcomes, token)


def _renew(message_ids: list[int], token: uuid.UUID, unless_since=None) -> set[int]:
    """Refresh the claim on these messages (only if one was claimed before `unless_since`, if given).

    Returns the messages still held by `token`.
    """
    mine = Message.objects.filter(pk__in=message_ids, claim_token=token, status=Status.SENDING)
    if unless_since is not None:
        claimed = dict(mine.values_list("pk", "claimed_at"))
        if all(at >= unless_since for at in claimed.values()):
            return set(claimed)  # all fresh: one query, no write
    mine.update(claimed_at=timezone.now())
    return set(mine.values_list("pk", flat=True))


def _load(message_ids: set[int]) -> list[Message]:
    """The messages in pk order, sharing one Tenant instance per tenant (not one per row)."""
    messages = list(Message.objects.filter(pk__in=message_ids).order_by("pk"))
    tenants = Tenant.objects.in_bulk({m.tenant_id for m in messages})
    for message in messages:
        message.tenant = tenants[message.tenant_id]
    return messages


def record_outcomes(outcomes: list[Outcome], token: uuid.UUID) -> None:
    """Write outcomes in one transaction; only where the claim is still `token`'s."""
    if not outcomes:
        return
    now = timezone.now()
    with transaction.atomic():
        held = _lock_held([o.message.pk for o in outcomes], token)
        outcomes = [o for o in outcomes if o.message.pk in held]
        _insert_events([event for outcome in outcomes for event in outcome.events])
        by_columns: dict[tuple[str, ...], list[Message]] = {}
        for outcome in outcomes:
            for column, value in outcome.fields.items():
                setattr(outcome.message, column, value)
            outcome.message.claim_token = None
            outcome.message.updated_at = now
            by_columns.setdefault(tuple(sorted(outcome.fields)), []).append(outcome.message)
            if outcome.carrier_opt_out:
                add_opt_out(tenant=outcome.message.tenant, phone=outcome.message.to, source="carrier",
                            keyword=outcome.fields["error_code"])
        for columns, messages in by_columns.items():  # one UPDATE statement per kind of outcome
            _update_columns(messages, [*columns, "claim_token", "updated_at"])
        apply_unmatched_receipts([outcome.sent_as for outcome in outcomes if outcome.sent_as])


def _lock_held(message_ids: list[int], token: uuid.UUID) -> set[int]:
    """Lock the rows this claim still holds (a taken-over message's outcome is then dropped).

    Plain SQL rather than a queryset: it runs every few messages and compiling it cost more than running it.
    """
    message = Message._meta
    token_value = message.get_field("claim_token").get_db_prep_value(token, connection)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    # Only our own table and column names are interpolated; every value is a parameter.
    sql = (f"SELECT id FROM {connection.ops.quote_name(message.db_table)} "  # noqa: S608
           f"WHERE id IN ({', '.join(['%s'] * len(message_ids))}) AND claim_token = %s{lock}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*message_ids, token_value])
        return {pk for (pk,) in cursor.fetchall()}


def _update_columns(messages: list[Message], columns: list[str]) -> None:
    """UPDATE these columns of each message, pipelined in one executemany (no per-row ORM compiling)."""
    fields = [Message._meta.get_field(column) for column in columns]
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    # Only our own column names are interpolated; every value is a parameter.
    sql = f"UPDATE {connection.ops.quote_name(Message._meta.db_table)} SET {assignments} WHERE id = %s"  # noqa: S608
    rows = [[f.get_db_prep_save(getattr(m, f.attname), connection) for f in fields] + [m.pk] for m in messages]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _insert_events(events: list[MessageEvent]) -> None:
    """INSERT events in one multi-row statement (no bulk_create compiling; one statement for Postgres to plan)."""
    if not events:
        return
    fields = [f for f in MessageEvent._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(MessageEvent._meta.db_table)
    row = f"({', '.join(['%s'] * len(fields))})"
    # Only our own column names are interpolated; every value is a parameter.
    sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(events))}"  # noqa: S608
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for event in events for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def _refusals(messages: list[Message]) -> dict[tuple[int, str], str]:
    """Policy refusals at send time, one query per tenant in the batch."""
    refusals = {}
    tenants = {message.tenant_id: message.tenant for message in messages}
    for tenant_id, tenant in tenants.items():
        phones = [m.to for m in messages if m.tenant_id == tenant_id]
        refusals.update({(tenant_id, p): r for p, r in refusal_reasons(tenant=tenant, phones=phones).items()})
    return refusals
