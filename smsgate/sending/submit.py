"""Submitting SMS: the first steps of the one road (validate, render, policy, persist), for every caller.

Every message is created by `submit`: the API's send and bulk, lead journeys,
payment recovery, campaigns, the operator's test SMS and resends. Nothing else
creates Message rows (tests/test_one_road.py fails if something does). A
caller describes each SMS as an `SmsRequest`, says what they have in common
(tenant, type, time, source) and, for HTTP callers, where the request came
from (`RequestMeta`). How the rows are written (one INSERT, or COPY for a big
batch) is this module's choice by size. Dispatch happens after the caller's
transaction commits: one message is published to a worker, a batch wakes the
sweeper once.
"""

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from providers.registry import chain_for
from providers.segments import SegmentInfo, SmartEncoded, count_segments, smart_encode
from smsgate.media import sendable_media
from smsgate.models import HeldSource, Message, MessageEvent, MessageType, Tenant
from smsgate.phones import E164, validated_phone
from smsgate.pricing import PriceList, ordered_chain
from smsgate.publish import publish_on_commit
from smsgate.sending.bulk_insert import insert_messages
from smsgate.sending.policy import Batch, Candidate, Decision, judge, refusal_reasons
from smsgate.statuses import PENDING, Status
from templates.services import render_for

# Published by name (smsgate.publish): smsgate.sending.tasks wraps this module, so it is not imported here.
DISPATCH_TASK = "smsgate.dispatch_message"
SWEEP_TASK = "smsgate.sweep_due_messages"

logger = logging.getLogger(__name__)
# A held message (its campaign paused) is due at this date, which no sweep reaches, until it is released.
HELD_UNTIL = datetime(9999, 12, 31, tzinfo=UTC)


class PolicyRefused(ValidationError):
    """The message is valid but policy forbids sending it (opt-out, safeguard, consent, length)."""


class IdempotencyConflict(Exception):
    """An Idempotency-Key was reused for a different request."""


@dataclass(frozen=True)
class SmsRequest:
    """One SMS asked for: a number, and a text or a template code with its data."""

    to: str
    body: str = ""
    template_code: str = ""
    template_data: Mapping[str, object] = field(default_factory=dict)
    custom_id: str = ""  # the caller's own reference, shown back to them
    # The template variant `body` was rendered from, when the caller rendered it (a campaign renders its text once).
    variant_id: int | None = None
    smart_encoding: bool | None = None  # None: the submit's smart_encoding
    # MMS attachments: absolute http(s) URLs (ours signed, smsgate.media). With media the text may be empty.
    media_urls: Sequence[str] = ()


@dataclass(frozen=True)
class RequestMeta:
    """Where an HTTP request came from, kept on its messages for the audit trail."""

    ip: str | None = None
    user_agent: str = ""


NO_META = RequestMeta()


@dataclass
class SubmitResult:
    ids: list[int | None] = field(default_factory=list)  # per request; None where it was refused
    phones: list[str | None] = field(default_factory=list)  # per request, in E.164; None where invalid
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)  # request index -> field errors
    message: Message | None = None  # the message of a one-request submit
    policy_refused: bool = False  # the first error is a policy refusal, not bad input
    segments_saved: int = 0  # by smart encoding, over the messages this submit wrote (not replays)

    @property
    def written(self) -> int:
        return sum(1 for pk in self.ids if pk is not None)

    def one(self) -> Message:
        """The message of a one-request submit; its error as a ValidationError (or PolicyRefused) if refused."""
        if self.errors:
            error_class = PolicyRefused if self.policy_refused else ValidationError
            raise error_class(self.errors[0], code="refused" if self.policy_refused else "invalid")
        assert self.message is not None, "one() is for a submit of one request"  # noqa: S101
        return self.message


def submit(
    tenant: Tenant,
    requests: Sequence[SmsRequest],
    *,
    message_type: str = MessageType.TRANSACTIONAL,
    send_at: datetime | None = None,
    source_type: str = "",
    source_id: str | int = "",
    idempotency_key: str | None = None,
    cancel_refused: bool = False,
    meta: RequestMeta = NO_META,
    smart_encoding: bool | None = None,
) -> SubmitResult:
    """Validate, render, apply policy to and persist SMS; dispatch them after commit when due.

    Bad input (number, text, template data) is reported per request in `errors`
    and nothing is written for it. A policy refusal is an error too, or with
    `cancel_refused` (journeys, campaigns: no caller to answer) a message
    persisted as cancelled with its reason, so it is never a silent drop.
    `idempotency_key` (one request only): a repeat returns the first message,
    marked `replayed`; the same key for different content is an IdempotencyConflict.
    `smart_encoding` (None: the tenant's setting; a request's own flag wins) replaces
    look-alike characters with GSM-7 ones where that saves segments (providers.segments.smart_encode).
    """
    if idempotency_key and len(requests) != 1:
        raise ValueError("an idempotency key applies to a submit of one request")
    now = timezone.now()
    result = SubmitResult(ids=[None] * len(requests), phones=[None] * len(requests))
    smart = tenant.smart_encoding if smart_encoding is None else smart_encoding
    chain = tuple(chain_for(tenant))
    common = _Common(tenant, message_type, send_at, source_type, str(source_id), meta, now, chain)
    prepared = _prepared(tenant, requests, result, smart=smart, common=common)
    common = replace(common, prices=PriceList.load(tenant, list(chain), [item.phone for item in prepared]))
    fingerprint = _fingerprint(prepared[0], common) if idempotency_key and prepared else ""
    if fingerprint:
        if existing := _replay(tenant, idempotency_key, fingerprint):
            result.ids[0], result.message = existing.pk, existing
            return result
    decisions = judge(Batch(tenant, message_type, [
        Candidate(item.phone, item.body, common.due_at) for item in prepared
    ]))
    rows = []
    for item, decision in zip(prepared, decisions, strict=True):
        if decision.refusal and not cancel_refused:
            result.errors[item.index] = {decision.refusal.field: [decision.refusal.reason]}
            result.policy_refused = result.policy_refused or item.index == 0
            continue
        rows.append((item, _row(item, decision, common)))
    if idempotency_key and rows:
        rows[0][1].update(idempotency_key=idempotency_key, request_fingerprint=fingerprint)
    _persist(rows, result, idempotency_key)
    _publish(result, common)
    return result


@dataclass(frozen=True)
class _Prepared:
    index: int
    phone: str
    written: str  # the text as the caller wrote or rendered it
    encoded: SmartEncoded  # the text to send (smart-encoded or as written) and its segments
    request: SmsRequest
    variant_id: int | None
    media_urls: list[str]

    @property
    def body(self) -> str:
        return self.encoded.body


@dataclass(frozen=True)
class _Common:
    tenant: Tenant
    message_type: str
    send_at: datetime | None
    source_type: str
    source_id: str
    meta: RequestMeta
    now: datetime
    chain: tuple[str, ...] = ()  # the tenant's providers, in configured order
    prices: PriceList = field(default_factory=PriceList)  # for the numbers of this submit
    due_at: datetime = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "due_at", max(self.send_at or self.now, self.now))


def _prepared(tenant: Tenant, requests: Sequence[SmsRequest], result: SubmitResult, *,
              smart: bool, common: _Common) -> list[_Prepared]:
    """The requests whose number, template, text and media are valid, with the number in E.164 and the text
    rendered (and smart-encoded if `smart`, or as the request's own flag says)."""
    prepared = []
    media_check = _MediaCheck(tenant, common.due_at, common.chain)
    for index, request in enumerate(requests):
        try:
            phone = request.to if isinstance(request.to, E164) else validated_phone(request.to, tenant.default_region)
            result.phones[index] = phone
            body, variant_id = request.body, request.variant_id
            if request.template_code:
                rendered = render_for(tenant, request.template_code, dict(request.template_data), recipient=phone)
                body, variant_id = rendered.body, rendered.variant.pk
            media = media_check(request.media_urls)
            written = (body or "").strip() if media else _non_blank(body)
            smart_here = smart if request.smart_encoding is None else request.smart_encoding
            encoded = _mms_encoded(written) if media else _encoded(written, smart_here)
            prepared.append(_Prepared(index, phone, written, encoded, request, variant_id, media))
        except ValidationError as exc:
            result.errors[index] = exc.message_dict
    return prepared


class _MediaCheck:
    """A request's media checked (smsgate.media) for this submit's tenant and time; each distinct list once, so a
    bulk whose entries share the request's media costs one check."""

    def __init__(self, tenant: Tenant, due_at: datetime, chain: tuple[str, ...]):
        self.tenant, self.due_at, self.chain = tenant, due_at, chain
        self._checked: dict[tuple, list[str] | ValidationError] = {}

    def __call__(self, urls) -> list[str]:
        if isinstance(urls, list | tuple) and not urls:
            return []
        key = tuple(urls) if isinstance(urls, list | tuple) and all(isinstance(u, str) for u in urls) else None
        if key is None:
            return self._check(urls)  # malformed: refused, nothing worth remembering
        if key not in self._checked:
            try:
                self._checked[key] = self._check(urls)
            except ValidationError as exc:
                self._checked[key] = exc
        if isinstance(self._checked[key], ValidationError):
            raise self._checked[key]
        return list(self._checked[key])

    def _check(self, urls) -> list[str]:
        return sendable_media(self.tenant, urls, due_at=self.due_at, chain=self.chain)


def _mms_encoded(written: str) -> SmartEncoded:
    """An MMS is one message whatever its text's length (carriers bill it as one): one segment, nothing saved."""
    info = count_segments(written)
    return SmartEncoded(written, SegmentInfo(info.encoding, info.units, 1), 0)


def _encoded(written: str, smart: bool) -> SmartEncoded:
    if smart:
        return smart_encode(written, max_chars=settings.SMS_MAX_BODY_CHARS)
    return SmartEncoded(written, count_segments(written), 0)


def _row(item: _Prepared, decision: Decision, common: _Common) -> dict:
    """The columns of a new message, as {attname: value}."""
    info = item.encoded.info
    due_at = max(common.due_at, decision.hold_until or common.due_at)
    reason = decision.refusal.reason if decision.refusal else ""
    estimate, currency = _estimate(item, common) if not reason else (None, "")
    return {
        "tenant_id": common.tenant.pk,
        "to": item.phone,
        "body": item.body,
        "encoding": info.encoding,
        "segments": info.segments,
        "segments_saved": item.encoded.saved,
        "media_urls": item.media_urls,
        "message_type": common.message_type,
        "send_at": common.send_at,
        "due_at": due_at,
        "status": _initial_status(due_at, common.now, reason),
        "status_reason": reason[:255] if reason else (_held(decision) if due_at > common.due_at else ""),
        "custom_id": item.request.custom_id,
        "variant_id": item.variant_id,
        "source_type": common.source_type,
        "source_id": common.source_id,
        "request_ip": common.meta.ip,
        "user_agent": common.meta.user_agent[:255],
        "estimated_price": estimate,
        "estimated_price_unit": currency,
    }


def _estimate(item: _Prepared, common: _Common) -> tuple[Decimal | None, str]:
    """The price list's cost of the message through the carrier it would go to first (the router may fail over)."""
    chain = ordered_chain(common.tenant, common.chain, common.prices, item.phone)
    return common.prices.estimate(chain[0], item.phone, item.encoded.info.segments) if chain else (None, "")


def _held(decision: Decision) -> str:
    return f"held by quiet hours until {decision.hold_until.isoformat(timespec='minutes')}"


def _persist(rows: list[tuple[_Prepared, dict]], result: SubmitResult, idempotency_key: str | None) -> None:
    if len(rows) == 1 and len(result.ids) == 1:
        item, row = rows[0]
        message = Message(**row)
        # Only an idempotency key can collide (a concurrent repeat): then a savepoint (or, outside a
        # transaction, BEGIN and COMMIT) keeps the caller's transaction usable. Otherwise one INSERT.
        saving = transaction.atomic() if idempotency_key else nullcontext()
        try:
            with saving:
                message.save(force_insert=True)
        except IntegrityError:
            # A concurrent request with the same idempotency key won the race.
            existing = _replay(message.tenant, idempotency_key, row["request_fingerprint"]) if idempotency_key else None
            if existing is None:
                raise
            result.ids[0], result.message = existing.pk, existing
            return
        message.replayed = False
        result.ids[0], result.message = message.pk, message
        result.segments_saved = message.segments_saved
        return
    ids = insert_messages([row for _, row in rows])
    for (item, _), pk in zip(rows, ids, strict=True):
        result.ids[item.index] = pk
    result.segments_saved = sum(item.encoded.saved for item, _ in rows)


def _publish(result: SubmitResult, common: _Common) -> None:
    """One new message due now goes to a worker; a batch wakes the sweeper once, which dispatches in chunks."""
    if result.message is not None:
        if not getattr(result.message, "replayed", True) and result.message.status == Status.QUEUED:
            publish_on_commit(DISPATCH_TASK, result.message.pk)
    elif result.written and not (common.send_at and common.send_at > common.now):
        publish_on_commit(SWEEP_TASK)


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

    It is submitted like any other, so policy applies again. A message still waiting
    or being sent is refused: Retry now is the way to hurry it.
    """
    if message.status in NOT_RESENDABLE:
        raise ActionRefused(f"message #{message.pk} is still {message.status}; use Retry now to send it now")
    _refuse_if_policy_forbids(message)
    request = SmsRequest(to=message.to, body=message.body, media_urls=message.media_urls)
    try:
        copy = submit(message.tenant, [request], message_type=message.message_type, source_type="resend",
                      source_id=message.pk).one()
    except ValidationError as exc:  # e.g. an MMS whose signed media URL expired since
        raise ActionRefused(f"message #{message.pk} cannot be sent again: {'; '.join(exc.messages)}") from None
    MessageEvent.objects.create(message=message, kind=MessageEvent.Kind.STATUS, status=message.status,
                                error_message=f"resent as #{copy.pk} by {by}"[:500])
    return copy


def _refuse_if_policy_forbids(message: Message) -> None:
    if reason := refusal_reasons(tenant=message.tenant, phones=[message.to]).get(message.to):
        raise ActionRefused(f"message #{message.pk} to {message.to} cannot be sent: {reason}")


def _not_retryable(message: Message) -> str:
    if message.status == Status.SENDING:
        return f"message #{message.pk} is being sent right now"
    if message.status == Status.CANCELLED:
        return f"message #{message.pk} was cancelled; use Resend to send it again"
    return f"message #{message.pk} is {message.status}: the carrier already took it; use Resend to send it again"


def cancel_pending(*, source_type: str, source_id: str, reason: str) -> int:
    """Cancel, in one UPDATE, every message of one source not handed to a carrier yet (held ones too)."""
    HeldSource.objects.filter(source_type=source_type, source_id=source_id).delete()
    return Message.objects.filter(
        source_type=source_type, source_id=source_id, status__in=[Status.SCHEDULED, Status.QUEUED]
    ).update(status=Status.CANCELLED, status_reason=reason[:255], claim_token=None)


def hold_pending(*, source_type: str, source_id: str, reason: str) -> int:
    """Hold every message of one source not handed to a worker yet, until `release_held`; returns how many.

    One UPDATE gives them a due date no sweep reaches; a HeldSource row keeps the sweeper off the ones that come
    back meanwhile (a message a worker had claimed, then queued again for a retry). Messages a worker has
    already claimed (status sending) still go: they may be mid-send.
    """
    HeldSource.objects.update_or_create(source_type=source_type, source_id=source_id,
                                        defaults={"reason": reason[:255]})
    return Message.objects.filter(
        source_type=source_type, source_id=source_id, status__in=[Status.SCHEDULED, Status.QUEUED]
    ).update(status=Status.SCHEDULED, due_at=HELD_UNTIL, status_reason=reason[:255])


def release_held(*, source_type: str, source_id: str) -> int:
    """Make one source's held messages due again (at their send_at if it is still ahead) and wake the sweeper.

    Dispatch checks opt-outs and quiet hours again before each goes out.
    """
    HeldSource.objects.filter(source_type=source_type, source_id=source_id).delete()
    now = timezone.now()
    released = Message.objects.filter(
        source_type=source_type, source_id=source_id, status=Status.SCHEDULED, due_at=HELD_UNTIL
    ).update(
        status=Case(When(send_at__gt=now, then=Value(Status.SCHEDULED)), default=Value(Status.QUEUED)),
        due_at=Greatest(Coalesce("send_at", Value(now)), Value(now)), status_reason="",
    )
    publish_on_commit(SWEEP_TASK)  # also for messages that came back while held: they are due by their own date
    return released


def _non_blank(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"message": ["The message must not be empty."]}, code="blank")
    return body


def _initial_status(due_at: datetime, now: datetime, refusal: str) -> str:
    if refusal:
        return Status.CANCELLED
    if due_at > now:
        return Status.SCHEDULED
    return Status.QUEUED


def _fingerprint(item: _Prepared, common: _Common) -> str:
    send_at = common.send_at.isoformat() if common.send_at else None
    # The text as written: a repeat is the same request whatever smart encoding made of it.
    fields = [item.phone, item.written, common.message_type, send_at, item.request.custom_id]
    if item.media_urls:  # only then: the fingerprints of requests without media stay as they were
        fields.append(item.media_urls)
    canonical = json.dumps(fields)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(tenant: Tenant, key: str, fingerprint: str) -> Message | None:
    existing = Message.objects.filter(tenant=tenant, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(key)
    existing.replayed = True
    return existing
