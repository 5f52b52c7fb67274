"""Routing one claimed message: policy at send time, then the provider chain. Writes nothing.

`Router.route` decides what happened to a message (sent, failed, retry later,
deferred, cancelled) and returns it as an Outcome; the dispatcher writes the
outcomes of several messages in one transaction. Carriers are called here.
"""

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from providers.base import PermanentProviderError, ProviderError, RecipientOptedOut, SendResult
from providers.registry import Route, UnknownProvider, chain_for, route_for
from smsgate.models import Message, MessageEvent, Tenant
from smsgate.pricing import PriceList, ordered_chain
from smsgate.quiet_hours import quiet_until, window_for
from smsgate.sending.resilience import (
    CLEAN,
    FAILURES_COUNTED,
    REFUSED,
    CircuitBreaker,
    RateLimiter,
    breaker_for,
    limiter_for,
)
from smsgate.statuses import Status

logger = logging.getLogger(__name__)
# Rate-limit tokens a batch took are used within this many seconds or given back (a batch held up by a
# slow carrier must not sit on sends it took early, then spend them in a burst on top of others' sends).
TOKEN_HOLD_SECONDS = 1.0


@dataclass
class Outcome:
    """What to write for one message: its new columns, its events, and follow-ups."""

    message: Message
    fields: dict
    events: list[dict] = field(default_factory=list)  # MessageEvent rows, as {column: value}
    carrier_opt_out: bool = False  # the carrier says the recipient unsubscribed
    # (provider, account id or None, provider message id) once a carrier took it
    sent_as: tuple[str, int | None, str] | None = None


def retry_delay(attempt: int) -> float:
    """Exponential backoff with jitter: between half and all of base * 2^(attempt-1), capped."""
    ceiling = min(settings.SMS_RETRY_MAX_SECONDS, settings.SMS_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


class Router:
    """Routes the messages of one chunk, building each tenant's provider backends once.

    Breakers and rate limits are consulted once per batch, not once per message
    (each is a Redis round trip): `start_batch(n)` takes the next n messages'
    tokens in one call as they are first needed and one admission per breaker;
    `finish_batch` gives back tokens no message used. Within a batch a breaker's
    own outcomes are followed exactly: a transient failure is reported at once,
    and if it opens the breaker the rest of the batch skips that provider. A
    breaker another worker opens is seen from the next batch on.
    """

    def __init__(self, now: datetime, prices: dict[int, PriceList] | None = None):
        self.now = now
        self._prices = dict(prices or {})  # tenant id -> its price list for the chunk (smsgate.pricing.price_lists)
        self._routes: dict[tuple[int, str], Route] = {}
        self._left = 0  # messages of the batch not routed yet
        self._limiters: dict[str, RateLimiter] = {}
        self._tokens: dict[str, int] = {}  # limiter key -> tokens held for the batch
        self._taken_at: dict[str, float] = {}  # limiter key -> when they were taken (monotonic)
        self._throttled: dict[str, float] = {}  # limiter key -> when its bucket has a token again (monotonic)
        self._admissions: dict[str, int] = {}  # breaker key -> CircuitBreaker.allow() for the batch

    def _route(self, tenant: Tenant, name: str) -> Route:
        """The tenant's route to `name`; one that cannot be built is unusable, never an exception."""
        key = (tenant.pk, name)
        if key not in self._routes:
            try:
                route = route_for(name, tenant)
            except UnknownProvider:
                route = Route(name=name, provider=None, unusable="unknown provider")
            except Exception as exc:  # e.g. a credential of the wrong type: skip this route, not the chunk
                logger.exception("cannot build the %s route of tenant %s", name, tenant.slug)
                route = Route(name=name, provider=None, unusable=f"misconfigured ({type(exc).__name__})")
            if route.unusable:
                logger.warning("tenant %s: provider %s skipped: %s", tenant.slug, name, route.unusable)
            self._routes[key] = route
        return self._routes[key]

    def _prices_for(self, tenant: Tenant) -> PriceList:
        """The tenant's prices; a router given none loads the tenant's whole list for its chain, once."""
        if tenant.pk not in self._prices:
            self._prices[tenant.pk] = PriceList.load(tenant, chain_for(tenant))
        return self._prices[tenant.pk]

    def start_batch(self, size: int) -> None:
        """The next `size` messages are one batch; call `finish_batch` after them."""
        self._left = size

    def finish_batch(self) -> None:
        for key, unused in self._tokens.items():
            self._limiters[key].release(unused)
        self._limiters, self._tokens, self._taken_at, self._throttled, self._admissions = {}, {}, {}, {}, {}

    def route(self, message: Message, refusal: str) -> Outcome:
        """Decide `message`'s fate; `refusal` is the policy's reason not to send it now, if any."""
        self._left = max(self._left - 1, 0)
        if refusal:  # e.g. a STOP that arrived after the message was scheduled
            return cancelled(message, refusal)
        window = window_for(message.tenant)
        until = quiet_until(phone=message.to, message_type=message.message_type, window_text=window, now=self.now)
        if until:
            return deferred(message, until, f"quiet hours ({window}) in the recipient's time zone")
        events: list[dict] = []
        errors: list[ProviderError] = []
        waits: list[float] = []  # seconds until a throttled or paused provider may take it
        prices = self._prices_for(message.tenant)
        for name in ordered_chain(message.tenant, chain_for(message.tenant), prices, message.to):
            route = self._route(message.tenant, name)
            if reason := route.cannot_send(message):
                errors.append(PermanentProviderError(reason))
                continue
            limiter = limiter_for(message.tenant, name, route.per_minute)
            if wait := self._take_token(limiter):
                waits.append(wait)
                continue
            breaker = breaker_for(route.breaker_key)
            if not self._admission(breaker):
                self._tokens[limiter.key] += 1  # unused: given back at the end of the batch
                waits.append(float(settings.SMS_BREAKER_COOLDOWN_SECONDS))
                continue
            result = self._send(message, route, breaker, events, errors)
            if result is not None:
                estimate = prices.estimate(route.name, message.to, result.segments or message.segments)
                return sent(message, route.name, result, events, account_id=route.account_id, estimate=estimate)
            if errors[-1].permanent:
                return failed(message, route.name, errors[-1], events)
        if errors and all(e.permanent for e in errors) and not waits:  # every route said it cannot carry it
            reasons = PermanentProviderError("; ".join(dict.fromkeys(str(e) for e in errors)))
            return failed(message, "", reasons, events, status_reason="no provider can send it")
        if waits and not errors:
            # Nothing was tried: no attempt is spent; it waits for the first provider to free up.
            return deferred(message, self.now + timedelta(seconds=min(waits)), "every provider is throttled or paused")
        return retry_later(message, errors, events, self.now)

    def _take_token(self, limiter: RateLimiter) -> float:
        """0 if a send may go now (a token taken), else seconds until the bucket has one."""
        key, now = limiter.key, time.monotonic()
        if self._tokens.get(key) and now - self._taken_at[key] > TOKEN_HOLD_SECONDS:
            limiter.release(self._tokens[key])
            self._tokens[key] = 0
        if self._throttled.get(key, now) <= now and not self._tokens.get(key):
            granted, wait = limiter.acquire(self._left + 1)  # this message and the rest of the batch
            self._limiters[key], self._tokens[key], self._taken_at[key] = limiter, granted, now
            self._throttled[key] = now + wait
        if not self._tokens[key]:
            return self._throttled[key] - now
        self._tokens[key] -= 1
        return 0

    def _admission(self, breaker: CircuitBreaker) -> int:
        if breaker.key not in self._admissions:
            self._admissions[breaker.key] = breaker.allow()
        return self._admissions[breaker.key]

    def _send(self, message, route: Route, breaker: CircuitBreaker, events, errors) -> SendResult | None:
        started = time.monotonic()
        try:
            result = route.provider.send(message)
        except ProviderError as exc:
            error = exc
        except Exception as exc:  # a backend bug must not strand the message
            logger.exception("provider %s crashed sending message %s", route.name, message.pk)
            error = ProviderError(f"{type(exc).__name__}: {exc}")
        else:
            self._answered(breaker)
            events.append(_attempt(message, route.name, started, result=result))
            return result
        if error.permanent:
            self._answered(breaker)  # the carrier answered; it is the message it refused
        else:
            self._admissions[breaker.key] = REFUSED if breaker.record_failure() else FAILURES_COUNTED
        events.append(_attempt(message, route.name, started, error=error))
        errors.append(error)
        return None

    def _answered(self, breaker: CircuitBreaker) -> None:
        """The carrier answered: reset the breaker unless it is known clean (then no round trip)."""
        breaker.record_success(self._admissions[breaker.key])
        self._admissions[breaker.key] = CLEAN


def _attempt(message, provider_name, started, *, result: SendResult | None = None, error=None) -> dict:
    return _event(
        message, MessageEvent.Kind.ATTEMPT,
        provider=provider_name,
        status=result.status if result else "",
        ok=error is None,
        error_code=getattr(error, "code", "")[:30],
        error_message=str(error or "")[:500],
        duration_ms=int((time.monotonic() - started) * 1000),
        raw=(result.raw if result and isinstance(result.raw, dict) else {}),
    )


def _status_event(message, status: str, text: str) -> dict:
    return _event(message, MessageEvent.Kind.STATUS, status=status, error_message=text[:500])


def _event(message, kind: str, *, provider: str = "", status: str = "", ok: bool = True, error_code: str = "",
           error_message: str = "", duration_ms: int | None = None, raw: dict | None = None) -> dict:
    """A MessageEvent row as its columns: the dispatcher writes a batch's events in one statement."""
    return {"message_id": message.pk, "kind": str(kind), "provider": provider, "status": str(status), "ok": ok,
            "error_code": error_code, "error_message": error_message, "duration_ms": duration_ms,
            "raw": raw if raw is not None else {}, "created_at": timezone.now()}


def sent(message: Message, provider_name: str, result: SendResult, events=(), *,
         account_id: int | None = None, estimate: tuple[Decimal | None, str] = (None, "")) -> Outcome:
    """Taken by the carrier through the tenant's account `account_id` (None: the platform's credentials).

    `estimate` is the price list's (total, currency) for the carrier that took it; the carrier's own price, if it
    reports one, is `price`.
    """
    return Outcome(message, {
        "status": result.status if result.status in (Status.SENT, Status.DELIVERED) else Status.SENT,
        "provider": provider_name,
        "provider_account_id": account_id,
        "provider_message_id": result.provider_message_id,
        "segments": result.segments or message.segments,
        "price": result.price,
        "price_unit": result.price_unit,
        "estimated_price": estimate[0],
        "estimated_price_unit": estimate[1],
        "attempts": message.attempts + 1,
        "sent_at": timezone.now(),
        "error_code": "",
        "error_message": "",
    }, list(events), sent_as=(provider_name, account_id, result.provider_message_id))


def failed(message: Message, provider_name: str, error: ProviderError, events=(),
           status_reason: str = "permanent provider error") -> Outcome:
    return Outcome(message, {
        "status": Status.FAILED,
        "status_reason": status_reason,
        "provider": provider_name or message.provider,
        "attempts": message.attempts + 1,
        "error_code": error.code[:30],
        "error_message": str(error)[:500],
    }, list(events), carrier_opt_out=isinstance(error, RecipientOptedOut))


def retry_later(message: Message, errors: list[ProviderError], events, now: datetime) -> Outcome:
    attempts = message.attempts + 1
    last = errors[-1] if errors else ProviderError("no provider configured")
    fields = {"attempts": attempts, "error_code": last.code[:30], "error_message": str(last)[:500]}
    if attempts >= settings.SMS_MAX_ATTEMPTS:
        fields.update(status=Status.FAILED, status_reason=f"every provider failed {attempts} times")
    else:
        fields.update(status=Status.QUEUED, due_at=now + timedelta(seconds=retry_delay(attempts)))
    return Outcome(message, fields, list(events))


def cancelled(message: Message, reason: str) -> Outcome:
    return Outcome(message, {"status": Status.CANCELLED, "status_reason": reason[:255]},
                   [_status_event(message, Status.CANCELLED, reason)])


def deferred(message: Message, until: datetime, reason: str) -> Outcome:
    """Back to waiting until `until`, without spending an attempt."""
    return Outcome(message, {"status": Status.SCHEDULED, "due_at": until},
                   [_status_event(message, Status.SCHEDULED, f"deferred until {until.isoformat()}: {reason}")])
