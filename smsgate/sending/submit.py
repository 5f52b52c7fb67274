"""Submitting SMS: the first two steps of the one road (validate + policy, persist).

Other apps call `send_sms` and never create Message rows themselves.
Dispatch happens after the caller's transaction commits.
"""

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from providers.segments import count_segments
from smsgate.models import Message, MessageEvent, MessageType, Tenant
from smsgate.phones import validated_phone
from smsgate.publish import publish_on_commit
from smsgate.sending.bulk_insert import insert_messages
from smsgate.sending.policy import refusal_reason, refusal_reasons
from smsgate.statuses import PENDING, Status
from templates.services import render_for

# Published by name (smsgate.publish): smsgate.sending.tasks wraps this module, so it is not imported here.
DISPATCH_TASK = "smsgate.dispatch_message"
SWEEP_TASK = "smsgate.sweep_due_messages"

logger = logging.getLogger(__name__)


class PolicyRefused(ValidationError):
    """The message is valid but policy forbids sending it (opt-out, safeguard)."""


class IdempotencyConflict(Exception):
    """An Idempotency-Key was reused for a different request."""


def send_sms(
    *,
    tenant: Tenant,
    to: str,
    body: str = "",
    template_code: str = "",
    template_data: dict | None = None,
    message_type: str = MessageType.TRANSACTIONAL,
    send_at: datetime | None = None,
    idempotency_key: str | None = None,
    custom_id: str = "",
    source_type: str = "",
    source_id: str = "",
    request_ip: str | None = None,
    user_agent: str = "",
    cancel_on_refusal: bool = False,
) -> Message:
    """Validate, apply policy and persist one SMS; dispatch it after commit if due.

    Raises ValidationError (with field errors) for bad input. A policy refusal
    raises PolicyRefused, or with `cancel_on_refusal` (scheduled journeys)
    persists the message as cancelled with its reason, so it is never a
    silent drop. The returned message has `replayed=True` when an earlier
    request with the same idempotency key is returned instead.
    """
    phone = validated_phone(to, tenant.default_region)
    variant = None
    if template_code:
        rendered = render_for(tenant, template_code, template_data or {}, recipient=phone)
        body, variant = rendered.body, rendered.variant
    body = _validated_body(body)
    fingerprint = _fingerprint(phone, body, message_type, send_at, custom_id)

    if idempotency_key:
        existing = _replay(tenant, idempotency_key, fingerprint)
        if existing:
            return existing

    reason = refusal_reason(tenant=tenant, to=phone)
    if reason and not cancel_on_refusal:
        raise PolicyRefused({"phone": [reason]}, code="refused")

    message = Message(**_message_fields(
        tenant=tenant, to=phone, body=body, message_type=message_type, send_at=send_at, refusal=reason,
        idempotency_key=idempotency_key or None, request_fingerprint=fingerprint, custom_id=custom_id, variant=variant,
        source_type=source_type, source_id=str(source_id), request_ip=request_ip, user_agent=user_agent[:255],
    ))
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        # A concurrent request with the same idempotency key won the race.
        existing = _replay(tenant, idempotency_key, fingerprint) if idempotency_key else None
        if existing is None:
            raise
        return existing
    message.replayed = False
    if message.status == Status.QUEUED:
        publish_on_commit(DISPATCH_TASK, message.pk)
    return message


@dataclass(frozen=True)
class BulkItem:
    to: str
    body: str
    custom_id: str = ""
    source_id: str = ""
    variant_id: int | None = None


@dataclass
class BulkResult:
    message_ids: list[int | None] = field(default_factory=list)  # per item; None where rejected
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)  # item index -> field errors
    written: int = 0


def submit_many(
    *,
    tenant: Tenant,
    items: Iterable[BulkItem],
    message_type: str = MessageType.TRANSACTIONAL,
    send_at: datetime | None = None,
    source_type: str = "",
    cancel_on_refusal: bool = False,
    phones_are_e164: bool = False,
    return_ids: bool = True,
    batch_size: int = 1000,
) -> BulkResult:
    """Validate, apply policy and persist many SMS with one INSERT (or COPY) per batch.

    Invalid items are reported by index and skipped; valid ones are written
    in the caller's transaction. Nothing is enqueued per message: after
    commit the sweeper is woken once and dispatches them in chunks. Policy
    refusals are errors, or cancelled messages with `cancel_on_refusal`.
    `phones_are_e164` skips re-parsing numbers smsgate normalised before
    (campaign recipients); without `return_ids` rows are streamed with COPY
    and `message_ids` stays empty.
    """
    result = BulkResult()
    options = _BatchOptions(message_type, send_at, source_type, cancel_on_refusal, phones_are_e164, return_ids)
    for start, batch in _batches(items, batch_size):
        _submit_batch(tenant, start, batch, options, result)
    written = any(result.message_ids) or (not return_ids and result.written)
    if written and not (send_at and send_at > timezone.now()):
        publish_on_commit(SWEEP_TASK)
    return result


@dataclass(frozen=True)
class _BatchOptions:
    message_type: str
    send_at: datetime | None
    source_type: str
    cancel_on_refusal: bool
    phones_are_e164: bool
    return_ids: bool


def _submit_batch(tenant, start: int, batch: list[BulkItem], options: _BatchOptions, result: BulkResult) -> None:
    prepared: list[tuple[int, str, str]] = []  # (index, phone, body)
    for offset, item in enumerate(batch):
        try:
            phone = item.to if options.phones_are_e164 else validated_phone(item.to, tenant.default_region)
            prepared.append((start + offset, phone, _validated_body(item.body)))
        except ValidationError as exc:
            result.errors[start + offset] = exc.message_dict
    refusals = refusal_reasons(tenant=tenant, phones=[phone for _, phone, _ in prepared])
    now = timezone.now()
    rows, indexes = [], []
    for index, phone, body in prepared:
        reason = refusals.get(phone, "")
        if reason and not options.cancel_on_refusal:
            result.errors[index] = {"phone": [reason]}
            continue
        item = batch[index - start]
        rows.append(_message_fields(
            tenant=tenant, to=phone, body=body, message_type=options.message_type, send_at=options.send_at,
            refusal=reason, custom_id=item.custom_id, source_type=options.source_type, source_id=item.source_id,
            variant_id=item.variant_id, now=now,
        ))
        indexes.append(index)
    result.written += len(rows)
    ids = dict(zip(indexes, insert_messages(rows, return_ids=options.return_ids), strict=False))
    if options.return_ids:
        result.message_ids.extend(ids.get(start + offset) for offset in range(len(batch)))


def _batches(items: Iterable[BulkItem], size: int):
    """(index of the first item, list of items) for consecutive slices of `items`."""
    iterator = iter(items)
    start = 0
    while batch := list(islice(iterator, size)):
        yield start, batch
        start += len(batch)


def _message_fields(*, tenant, to, body, message_type, send_at, refusal, now=None, **fields) -> dict:
    """The columns of a new message, as {attname: value}; `now` is shared by a batch's messages."""
    info = count_segments(body)
    now = now or timezone.now()
    return {
        "tenant_id": tenant.pk,
        "to": to,
        "body": body,
        "encoding": info.encoding,
        "segments": info.segments,
        "message_type": message_type,
        "send_at": send_at,
        "due_at": max(send_at or now, now),
        "status": _initial_status(send_at, now, refusal),
        "status_reason": refusal,
        **fields,
    }


def cancel_message(message: Message, reason: str) -> bool:
    """Cancel a message that has not been handed to a carrier yet."""
    updated = Message.objects.filter(pk=message.pk, status__in=[Status.SCHEDULED, Status.QUEUED]).update(
        status=Status.CANCELLED, status_reason=reason[:255], claim_token=None
    )
    if updated:
        MessageEvent.objects.create(message=message, kind=MessageEvent.Kind.STATUS, status=Status.CANCELLED,
                                    error_message=reason[:500])
    return bool(updated)


class ActionRefused(Exception):
    """An operator's action on a message that cannot apply to it; the text says why and what to do instead."""


RETRYABLE = (Status.FAILED, Status.QUEUED, Status.SCHEDULED)
# Still waiting or being sent: not resent (Retry now is the way to hurry it).
NOT_RESENDABLE = (*PENDING, Status.SENDING)


def retry_message(message: Message, *, by: str) -> None:
    """Send a failed or waiting message again now, through the normal road (the dispatcher).

    A failed message gets a fresh attempts budget (SMS_MAX_ATTEMPTS tries again; its
    earlier attempts stay in its events); a waiting one keeps its attempts and is due now.
    Policy is checked again first: an opted-out number is refused.
    """
    if message.status not in RETRYABLE:
        raise ActionRefused(_not_retryable(message))
    _refuse_if_policy_forbids(message)
    fields = {"status": Status.QUEUED, "due_at": timezone.now(), "claim_token": None,
              "status_reason": f"retry requested by {by}"[:255]}
    if message.status == Status.FAILED:
        fields["attempts"] = 0
    if not Message.objects.filter(pk=message.pk, status=message.status).update(**fields):
        raise ActionRefused(f"message #{message.pk} changed meanwhile; reload it and try again")
    MessageEvent.objects.create(message=message, kind=MessageEvent.Kind.STATUS, status=Status.QUEUED,
                                error_message=f"retry requested by {by} (was {message.status}, "
                                              f"{message.attempts} attempt(s))"[:500])
    publish_on_commit(DISPATCH_TASK, message.pk)


def resend_message(message: Message, *, by: str) -> Message:
    """A new message with the same tenant, number, body and type, linked to `message` (source "resend").

    It goes through send_sms, so policy applies again. A message still waiting or
    being sent is refused: Retry now is the way to hurry it.
    """
    if message.status in NOT_RESENDABLE:
        raise ActionRefused(f"message #{message.pk} is still {message.status}; use Retry now to send it now")
    _refuse_if_policy_forbids(message)
    copy = send_sms(tenant=message.tenant, to=message.to, body=message.body, message_type=message.message_type,
                    source_type="resend", source_id=str(message.pk))
    MessageEvent.objects.create(message=message, kind=MessageEvent.Kind.STATUS, status=message.status,
                                error_message=f"resent as #{copy.pk} by {by}"[:500])
    return copy


def _refuse_if_policy_forbids(message: Message) -> None:
    if reason := refusal_reason(tenant=message.tenant, to=message.to):
        raise ActionRefused(f"message #{message.pk} to {message.to} cannot be sent: {reason}")


def _not_retryable(message: Message) -> str:
    if message.status == Status.SENDING:
        return f"message #{message.pk} is being sent right now"
    if message.status == Status.CANCELLED:
        return f"message #{message.pk} was cancelled; use Resend to send it again"
    return f"message #{message.pk} is {message.status}: the carrier already took it; use Resend to send it again"


def cancel_pending(*, source_type: str, source_id: str, reason: str) -> int:
    """Cancel, in one UPDATE, every message of one source not handed to a carrier yet."""
    return Message.objects.filter(
        source_type=source_type, source_id=source_id, status__in=[Status.SCHEDULED, Status.QUEUED]
    ).update(status=Status.CANCELLED, status_reason=reason[:255], claim_token=None)


def _validated_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"message": ["The message must not be empty."]}, code="blank")
    limit = settings.SMS_MAX_BODY_CHARS
    if len(body) > limit:
        raise ValidationError(
            {"message": [f"The message is {len(body)} characters; the limit is {limit}."]}, code="max_length"
        )
    return body


def _initial_status(send_at: datetime | None, now: datetime, refusal: str) -> str:
    if refusal:
        return Status.CANCELLED
    if send_at and send_at > now:
        return Status.SCHEDULED
    return Status.QUEUED


def _fingerprint(phone, body, message_type, send_at, custom_id) -> str:
    canonical = json.dumps([phone, body, message_type, send_at.isoformat() if send_at else None, custom_id])
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(tenant: Tenant, key: str, fingerprint: str) -> Message | None:
    existing = Message.objects.filter(tenant=tenant, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(key)
    existing.replayed = True
    return existing
