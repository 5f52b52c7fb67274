"""Celery tasks of the core: thin wrappers that call dispatch, polling, tracking and media housekeeping."""

import uuid

from celery import shared_task
from django.conf import settings

from providers.base import StatusUpdate
from smsgate.media import delete_old_uploads
from smsgate.publish import publish_quietly
from smsgate.sending.dispatch import claim_budget, claim_due, deliver, deliver_now
from smsgate.tracking.polling import poll_statuses
from smsgate.tracking.receipts import record_delivery

SWEEP_TASK = "smsgate.sweep_due_messages"
# Chunks the sweeper claimed (campaigns, bulk sends, retries) wait behind messages submitted one at a time
# (codes, replies, journeys): kombu's Redis transport keeps one list per priority step (0, 3, 6, 9) and a worker
# takes from the highest first, 0 being the highest. A campaign's backlog then no longer delays an API message.
CLAIMED_CHUNK_PRIORITY = 6


@shared_task(name="smsgate.dispatch_message")
def dispatch_message_task(message_id: int) -> None:
    """Send one message that was just submitted, if it is still due and unclaimed."""
    deliver_now(message_id)


@shared_task(name="smsgate.deliver_claimed")
def deliver_claimed_task(message_ids: list[int], claim_token: str, refill: bool = False) -> None:
    """Send messages the sweeper claimed together under one token.

    `refill`: the sweep that claimed them took all it was allowed, so more may be
    due; sweeping again once this chunk is done keeps the workers fed at the rate
    they send, instead of waiting for beat's next sweep (the safety net).
    """
    deliver(message_ids, uuid.UUID(claim_token))
    if refill:
        publish_quietly(SWEEP_TASK)


@shared_task(name=SWEEP_TASK)
def sweep_due_messages_task() -> int:
    """Claim due and stale messages and hand them to workers in chunks. Beat runs it every few seconds."""
    limit = claim_budget()
    token, ids = claim_due(limit)
    size = settings.SMS_DISPATCH_CHUNK
    chunks = [ids[start : start + size] for start in range(0, len(ids), size)]
    # It took all it was allowed, so more may be due: the middle chunk sweeps again once done, when about half
    # of these are sent and the rest still keep the workers busy (one sweep per half batch, not per chunk).
    refill_at = len(chunks) // 2 if ids and len(ids) == limit else None
    for index, chunk in enumerate(chunks):
        deliver_claimed_task.apply_async((chunk, str(token), index == refill_at), priority=CLAIMED_CHUNK_PRIORITY)
    return len(ids)


@shared_task(name="smsgate.poll_delivery_statuses")
def poll_delivery_statuses_task() -> int:
    """Ask carriers that push no receipts (SMS_STATUS_POLL_PROVIDERS) about recent sends."""
    return poll_statuses(settings.SMS_STATUS_POLL_BATCH)


@shared_task(name="providers.console_receipt")  # named as when it lived in providers: queued receipts still run
def console_receipt_task(provider_message_id: str, status: str, error_code: str = "", error_message: str = "") -> None:
    """The console backend's simulated delivery receipt, recorded as a carrier's callback would be."""
    update = StatusUpdate(provider_message_id=provider_message_id, status=status, error_code=error_code,
                          error_message=error_message)
    record_delivery("console", update)


@shared_task(name="smsgate.delete_old_media")
def delete_old_media_task() -> int:
    """Delete MMS uploads past MMS_MEDIA_RETENTION_DAYS that no message in flight names."""
    return delete_old_uploads()
