"""Dispatch: claim due messages, route them through the provider chain, record attempts.

A message is claimed by setting status `sending` and a fresh claim token in
one conditional UPDATE; only the holder of the token may record an outcome.
A claim that yields no outcome within SMS_CLAIM_STALE_SECONDS (dead worker,
lost task) is claimed again by the sweeper, so nothing is ever forgotten.
"""

import logging
import random
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from providers.base import PermanentProviderError, ProviderError, RecipientOptedOut, SendResult
from providers.registry import chain_for, route_for
from smsgate.models import Message, MessageEvent
from smsgate.policy import refusal_reason
from smsgate.quiet_hours import quiet_until, window_for
from smsgate.resilience import breaker_for, limiter_for
from smsgate.services import add_opt_out
from smsgate.statuses import PENDING, Status
from smsgate.tracking import apply_unmatched_receipts

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
    """How many more messages may be claimed now without exceeding SMS_MAX_IN_FLIGHT."""
    in_flight = Message.objects.filter(status=Status.SENDING).count()
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


def deliver(message_id: int, token: uuid.UUID) -> None:
    """Send a claimed message through its provider chain and record the outcome."""
    # Renew the claim as work starts, so a task that waited in a long queue is not
    # reclaimed (and sent twice) while its send is in flight.
    renewed = Message.objects.filter(pk=message_id, claim_token=token, status=Status.SENDING).update(
        claimed_at=timezone.now()
    )
    if not renewed:
        return  # the claim was taken over or the message was cancelled
    message = Message.objects.select_related("tenant").get(pk=message_id)
    tenant = message.tenant
    if reason := refusal_reason(tenant=tenant, to=message.to):  # e.g. a STOP since it was scheduled
        _cancel(message, token, reason)
        return
    now = timezone.now()
    window = window_for(tenant)
    if until := quiet_until(phone=message.to, message_type=message.message_type, window_text=window, now=now):
        _defer(message, token, until, f"quiet hours ({window}) in the recipient's time zone")
        return
    errors: list[ProviderError] = []
    waits: list[float] = []  # seconds until a throttled or open-circuit provider may take it
    for name in chain_for(tenant):
        route = route_for(name, tenant)
        if reason := route.provider.cannot_send(message):
            errors.append(PermanentProviderError(reason))
            continue
        allowed, wait = limiter_for(tenant, name, route.per_minute).acquire()
        if not allowed:
            waits.append(wait)
            continue
        breaker = breaker_for(route.breaker_key)
        if not breaker.allow():
            waits.append(float(settings.SMS_BREAKER_COOLDOWN_SECONDS))
            continue
        if _try_send(message, token, route, breaker, errors):
            return
    if errors and all(e.permanent for e in errors) and not waits:
        _fail(message, token, "", errors[-1])
    elif waits and not errors:
        # Nothing was tried: no attempt is spent, the message waits for the first provider to free up.
        _defer(message, token, now + timedelta(seconds=min(waits)), "every provider is throttled or paused")
    else:
        _retry_later(message, token, errors)


def _try_send(message: Message, token, route, breaker, errors: list[ProviderError]) -> bool:
    """Send through one provider. True if the message's outcome is decided (sent or failed)."""
    started = time.monotonic()
    try:
        result = route.provider.send(message)
    except ProviderError as exc:
        _record_attempt(message, route.name, started, error=exc)
        if exc.permanent:
            breaker.record_success()  # the carrier answered; the message is what it refused
            _fail(message, token, route.name, exc)
            return True
        breaker.record_failure()
        errors.append(exc)
        return False
    except Exception as exc:  # a backend bug must not strand the message
        logger.exception("provider %s crashed sending message %s", route.name, message.pk)
        error = ProviderError(f"{type(exc).__name__}: {exc}")
        _record_attempt(message, route.name, started, error=error)
        breaker.record_failure()
        errors.append(error)
        return False
    breaker.record_success()
    _record_attempt(message, route.name, started, result=result)
    _mark_sent(message, token, route.name, result)
    return True


def retry_delay(attempt: int) -> float:
    """Exponential backoff with jitter: between half and all of base * 2^(attempt-1), capped."""
    ceiling = min(settings.SMS_RETRY_MAX_SECONDS, settings.SMS_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def _record_attempt(message, provider_name, started, *, result: SendResult | None = None, error=None):
    MessageEvent.objects.create(
        message=message,
        kind=MessageEvent.Kind.ATTEMPT,
        provider=provider_name,
        status=result.status if result else "",
        ok=error is None,
        error_code=getattr(error, "code", "")[:30],
        error_message=str(error or "")[:500],
        duration_ms=int((time.monotonic() - started) * 1000),
        raw=(result.raw if result and isinstance(result.raw, dict) else {}),
    )


def _mark_sent(message: Message, token, provider_name: str, result: SendResult) -> None:
    now = timezone.now()
    Message.objects.filter(pk=message.pk, claim_token=token).update(
        status=result.status if result.status in (Status.SENT, Status.DELIVERED) else Status.SENT,
        provider=provider_name,
        provider_message_id=result.provider_message_id,
        segments=result.segments or message.segments,
        price=result.price,
        price_unit=result.price_unit,
        attempts=message.attempts + 1,
        sent_at=now,
        claim_token=None,
        error_code="",
        error_message="",
    )
    apply_unmatched_receipts(provider_name, result.provider_message_id)


def _fail(message: Message, token, provider_name: str, error: ProviderError) -> None:
    Message.objects.filter(pk=message.pk, claim_token=token).update(
        status=Status.FAILED,
        status_reason="permanent provider error",
        provider=provider_name or message.provider,
        attempts=message.attempts + 1,
        claim_token=None,
        error_code=error.code[:30],
        error_message=str(error)[:500],
    )
    if isinstance(error, RecipientOptedOut):
        add_opt_out(tenant=message.tenant, phone=message.to, source="carrier", keyword=error.code)


def _cancel(message: Message, token, reason: str) -> None:
    if Message.objects.filter(pk=message.pk, claim_token=token).update(
        status=Status.CANCELLED, status_reason=reason[:255], claim_token=None
    ):
        MessageEvent.objects.create(message=message, kind=MessageEvent.Kind.STATUS, status=Status.CANCELLED,
                                    error_message=reason[:500])


def _defer(message: Message, token, until, reason: str) -> None:
    """Put a claimed message back to wait until `until`, without spending an attempt."""
    if Message.objects.filter(pk=message.pk, claim_token=token).update(
        status=Status.SCHEDULED, due_at=until, claim_token=None
    ):
        MessageEvent.objects.create(message=message, kind=MessageEvent.Kind.STATUS, status=Status.SCHEDULED,
                                    error_message=f"deferred until {until.isoformat()}: {reason}"[:500])


def _retry_later(message: Message, token, errors: list[ProviderError]) -> None:
    attempts = message.attempts + 1
    last = errors[-1] if errors else ProviderError("no provider configured")
    fields = dict(attempts=attempts, claim_token=None, error_code=last.code[:30], error_message=str(last)[:500])
    if attempts >= settings.SMS_MAX_ATTEMPTS:
        fields.update(status=Status.FAILED, status_reason=f"every provider failed {attempts} times")
    else:
        fields.update(status=Status.QUEUED, due_at=timezone.now() + timedelta(seconds=retry_delay(attempts)))
    Message.objects.filter(pk=message.pk, claim_token=token).update(**fields)
