"""Dispatch: claim due messages, route them through the provider chain, record attempts.

A message is claimed by setting status `sending` and a fresh claim token in
one conditional UPDATE; only the holder of the token may record an outcome.
A claim that yields no outcome within SMS_CLAIM_STALE_SECONDS (dead worker,
lost task) is claimed again by the sweeper, so nothing is ever forgotten.
"""

import logging
import time
import uuid
from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from providers.base import ProviderError
from smsgate.models import HeldSource, Message, MessageEvent, Tenant
from smsgate.optouts import add_opt_out
from smsgate.pricing import price_lists
from smsgate.sending.policy import refusal_reasons
from smsgate.sending.routing import Outcome, Router, retry_later
from smsgate.sending.rows import as_json, columns
from smsgate.statuses import PENDING, Status
from smsgate.tracking.receipts import apply_unmatched_receipts

logger = logging.getLogger(__name__)
# Only our own table and column names are interpolated into SQL below; every value is a parameter.
_MESSAGE = connection.ops.quote_name(Message._meta.db_table)
_EVENT = connection.ops.quote_name(MessageEvent._meta.db_table)
_TENANT = connection.ops.quote_name(Tenant._meta.db_table)


def claim_one(message_id: int) -> uuid.UUID | None:
    """Claim one due message for sending; None if it is not due or someone else has it."""
    token = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_MESSAGE} AS m SET status = %s, claim_token = %s, claimed_at = %s "  # noqa: S608
                       f"WHERE {_DUE_ONE}", _claim_params(token, message_id))
        return token if cursor.rowcount else None


# One due message by its primary key. The due test is written so that no index can serve it: the planner
# must find the row by id, never by scanning the pending index (a campaign's backlog) for due rows, which it
# chose whenever the statistics lagged behind a bulk insert.
_DUE_ONE = "m.id = %s AND m.status = ANY(%s) AND (m.due_at <= %s) IS TRUE"


def _claim_params(token: uuid.UUID, message_id: int) -> list:
    now = timezone.now()
    return [Status.SENDING, token, now, message_id, list(PENDING), now]


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
            .exclude(Exists(HeldSource.objects.filter(source_type=OuterRef("source_type"),
                                                      source_id=OuterRef("source_id"))))
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


def deliver_now(message_id: int) -> None:
    """Claim one message that was just submitted and send it: one statement claims it and loads it."""
    token = uuid.uuid4()
    messages = _with_tenants(
        f"UPDATE {_MESSAGE} AS m SET status = %s, claim_token = %s, claimed_at = %s "  # noqa: S608
        f"FROM {_TENANT} AS t WHERE {_DUE_ONE} AND t.id = m.tenant_id "
        f"RETURNING {columns(Message, 'm').sql}, {columns(Tenant, 't').sql}",
        _claim_params(token, message_id),
    )
    _send_held(messages, token)


def deliver(message_ids: list[int], token: uuid.UUID) -> None:
    """Send claimed messages through their provider chains and record the outcomes.

    Outcomes are written in batches of SMS_DISPATCH_COMMIT_EVERY messages, one
    statement each: a worker killed mid-chunk loses the records of at most
    that many sends, which are then claimed again (the bounded duplicates).
    Claims are renewed as work starts and again whenever a quarter of
    SMS_CLAIM_STALE_SECONDS has passed, so a slow chunk (a carrier timing out)
    is never taken over while its messages still wait their turn here; a
    message whose claim was taken over anyway is skipped, not sent twice.
    """
    messages = _with_tenants(
        f"SELECT {columns(Message, 'm').sql}, {columns(Tenant, 't').sql} "  # noqa: S608
        f"FROM {_MESSAGE} AS m JOIN {_TENANT} AS t ON t.id = m.tenant_id "
        f"WHERE m.id = ANY(%s) AND m.claim_token = %s AND m.status = %s ORDER BY m.id",
        [list(message_ids), token, Status.SENDING],
    )
    # A claim made less than a quarter of the stale time ago needs no write yet: the loop renews it by the
    # time it is half stale.
    fresh_since = timezone.now() - timedelta(seconds=settings.SMS_CLAIM_STALE_SECONDS / 4)
    if any(message.claimed_at < fresh_since for message in messages):
        held = _renew([message.pk for message in messages], token)
        messages = [message for message in messages if message.pk in held]
    _send_held(messages, token)


def _send_held(messages: list[Message], token: uuid.UUID) -> None:
    """Route messages claimed by `token` (loaded, in pk order) and write their outcomes batch by batch."""
    if not messages:
        return  # taken over, cancelled or sent meanwhile
    refusals = _refusals(messages)
    router = Router(timezone.now(), price_lists(messages))
    renew_every = settings.SMS_CLAIM_STALE_SECONDS / 4
    renewed_at = time.monotonic()
    held = {message.pk for message in messages}
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




def _with_tenants(sql: str, params: list) -> list[Message]:
    """Messages from a statement returning a message's columns then its tenant's; one Tenant instance each."""
    message_columns, tenant_columns = columns(Message, "m"), columns(Tenant, "t")
    tenants: dict[int, Tenant] = {}
    messages = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for row in rows:
        message = message_columns.instance(row[: message_columns.count])
        tenant_id = message.tenant_id
        if tenant_id not in tenants:
            tenants[tenant_id] = tenant_columns.instance(row[message_columns.count :])
        message.tenant = tenants[tenant_id]
        messages.append(message)
    return messages


def _renew(message_ids: list[int], token: uuid.UUID) -> set[int]:
    """Refresh the claim on these messages; returns those still held by `token`."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_MESSAGE} SET claimed_at = %s "  # noqa: S608
                       "WHERE id = ANY(%s) AND claim_token = %s AND status = %s RETURNING id",
                       [timezone.now(), message_ids, token, Status.SENDING])
        return {pk for (pk,) in cursor.fetchall()}


def record_outcomes(outcomes: list[Outcome], token: uuid.UUID) -> None:
    """Write outcomes, only where the claim is still `token`'s, in one statement (so one transaction).

    A carrier's opt-out joins the same transaction; receipts that arrived before
    their send was recorded are applied once it is.
    """
    if not outcomes:
        return
    now = timezone.now()
    opt_outs = any(outcome.carrier_opt_out for outcome in outcomes)
    with transaction.atomic() if opt_outs else nullcontext():
        held = _write_outcomes(outcomes, token, now)
        outcomes = [outcome for outcome in outcomes if outcome.message.pk in held]
        for outcome in outcomes:
            if outcome.carrier_opt_out:
                add_opt_out(tenant=outcome.message.tenant, phone=outcome.message.to, source="carrier",
                            keyword=outcome.fields["error_code"])
    for outcome in outcomes:
        for column, value in outcome.fields.items():
            setattr(outcome.message, column, value)
        outcome.message.claim_token = None
        outcome.message.updated_at = now
    apply_unmatched_receipts([outcome.sent_as for outcome in outcomes if outcome.sent_as])


def _write_outcomes(outcomes: list[Outcome], token: uuid.UUID, now) -> set[int]:
    """UPDATE the messages still held by `token` and INSERT their events; returns the ids updated.

    The batch travels as two JSON parameters (one json.dumps, instead of psycopg
    quoting every value in Python), and the statement runs in one round trip:
    each row keeps the columns its outcome does not set (jsonb_populate_record
    fills them from the row itself), and a message taken over meanwhile is
    neither updated nor given events.
    """
    columns = sorted({Message._meta.get_field(name).column for o in outcomes for name in o.fields}
                     | {"claim_token", "updated_at"})
    rows = [{**{Message._meta.get_field(name).column: value for name, value in o.fields.items()},
             "id": o.message.pk, "claim_token": None, "updated_at": now} for o in outcomes]
    events = [event for outcome in outcomes for event in outcome.events]
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    event_names = ", ".join(connection.ops.quote_name(column) for column in _EVENT_COLUMNS)
    sql = (
        f"WITH d AS (SELECT (e->>'id')::bigint AS id, e AS j FROM jsonb_array_elements(%s::jsonb) AS e), "  # noqa: S608
        f"u AS (UPDATE {_MESSAGE} AS m SET ({names}) = "
        f"(SELECT {', '.join(f'r.{connection.ops.quote_name(c)}' for c in columns)} "
        f"FROM jsonb_populate_record(m, d.j) AS r) "
        f"FROM d WHERE m.id = d.id AND m.id = ANY(%s) AND m.claim_token = %s RETURNING m.id), "
        f"ev AS (INSERT INTO {_EVENT} ({event_names}) SELECT {event_names} "
        f"FROM jsonb_populate_recordset(NULL::{_EVENT}, %s::jsonb) AS r "
        f"WHERE r.message_id IN (SELECT id FROM u)) "
        f"SELECT id FROM u"
    )
    with connection.cursor() as cursor:
        # The id list lets the planner find the rows by primary key (it cannot see into the JSON).
        cursor.execute(sql, [as_json(rows), [row["id"] for row in rows], token, as_json(events)])
        return {pk for (pk,) in cursor.fetchall()}


_EVENT_COLUMNS = [f.column for f in MessageEvent._meta.concrete_fields if not f.primary_key]


def _refusals(messages: list[Message]) -> dict[tuple[int, str], str]:
    """Policy refusals at send time, one query per tenant in the batch."""
    refusals = {}
    tenants = {message.tenant_id: message.tenant for message in messages}
    for tenant_id, tenant in tenants.items():
        phones = [m.to for m in messages if m.tenant_id == tenant_id]
        refusals.update({(tenant_id, p): r for p, r in refusal_reasons(tenant=tenant, phones=phones).items()})
    return refusals

