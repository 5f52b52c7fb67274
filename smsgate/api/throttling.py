"""API throttles on the Redis token bucket of smsgate.sending.resilience: one atomic round trip per check.

A rate "N/period" (period s, min, hour or day, as DRF writes it) is a bucket of
N tokens refilled at N per period: a burst of at most N, then N per period.
The bucket is one Lua script timed by Redis's clock, so requests running at
the same time in any number of processes cannot take more than it holds
(DRF's SimpleRateThrottle read, appended to and wrote back a history without
a lock: under concurrency nearly nothing was refused).

Redis away (not answering): the throttles let requests through and log a
warning at most once a minute. The send API must stay available, and dispatch
still holds each tenant's carrier limits and breakers. Without REDIS_URL
(one machine in development) nothing is throttled, as in resilience.py.
"""

import logging
import time

import redis
from rest_framework import throttling

from smsgate.api.source_ip import client_ip
from smsgate.sending.resilience import redis_client, take_tokens, take_tokens_at_once

logger = logging.getLogger(__name__)
_REDIS_WARNING_EVERY = 60.0  # seconds
_redis_warned_at: float | None = None


class RedisRateThrottle(throttling.SimpleRateThrottle):
    """SimpleRateThrottle's rate setting (THROTTLE_RATES[scope]), enforced by the Redis token bucket.

    Subclasses name the bucket with `get_cache_key` (None: not throttled).
    """

    cache_format = "throttle_%(scope)s:%(ident)s"  # under resilience.PREFIX
    seconds_to_wait = 0.0

    def allow_request(self, request, view) -> bool:
        self.seconds_to_wait = self.take(self.get_cache_key(request, view), 1)
        return not self.seconds_to_wait

    def wait(self) -> float:
        return self.seconds_to_wait

    def take(self, key: str | None, count: int) -> float:
        """Take `count` tokens (0: only look): seconds until a token is there, 0.0 if one was."""
        return take_at_once((self, key, count))[0]

    def bucket(self, key: str, count: int) -> tuple[str, int, float, int]:
        return key, self.num_requests, self.num_requests / self.duration, count


def take_at_once(*takes: tuple[RedisRateThrottle, str | None, int]) -> list[float]:
    """RedisRateThrottle.take for several (throttle, key, count) in one Redis round trip: the waits, in order."""
    waits = [0.0] * len(takes)
    asked = [(index, throttle.bucket(key, count)) for index, (throttle, key, count) in enumerate(takes)
             if key is not None and throttle.rate is not None]
    if not asked or redis_client() is None:
        return waits
    try:
        answers = take_tokens_at_once(*(bucket for _, bucket in asked)) if len(asked) > 1 else \
            [take_tokens(*asked[0][1])]
    except redis.RedisError as exc:
        _warn_redis_away(exc)
        return waits
    for (index, _), (_, wait) in zip(asked, answers, strict=True):
        waits[index] = wait
    return waits


class FailedAuthThrottle(RedisRateThrottle):
    """API_AUTH_FAILURE_LIMIT failed authentications per client IP (e.g. "30/min").

    Used by the authentication, not as a DRF throttle: `wait_before_trying` before looking a key up,
    `record_failure` when the key was refused. Once the IP's bucket is empty its requests carrying
    credentials get 429 without a database lookup, until a token is back (Retry-After says when).
    """

    scope = "auth_failure"

    def get_cache_key(self, request, view=None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}

    def wait_before_trying(self, request) -> float:
        return self.take(self.get_cache_key(request), 0)

    def record_failure(self, request) -> None:
        self.take(self.get_cache_key(request), 1)


def _warn_redis_away(exc: redis.RedisError) -> None:
    global _redis_warned_at
    now = time.monotonic()
    if _redis_warned_at is None or now - _redis_warned_at >= _REDIS_WARNING_EVERY:
        _redis_warned_at = now
        logger.warning("Redis did not answer (%s): API rate limits are not enforced meanwhile", exc)
