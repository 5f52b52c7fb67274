"""Circuit breakers and rate limits, with their state in Redis so every worker shares it.

Both are single Lua scripts, so concurrent workers on any number of machines
see one consistent state, timed by the Redis server's clock. Without
REDIS_URL (development on one machine) neither is enforced: a warning says so.
"""

import functools
import logging
from dataclasses import dataclass

import redis
from django.conf import settings

logger = logging.getLogger(__name__)
PREFIX = "smsgate:"


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


@functools.cache
def _script(url: str, source: str):
    """A registered Lua script (EVALSHA, reloaded by redis-py if the server lost it)."""
    return _client(url).register_script(source)


def redis_client() -> redis.Redis | None:
    if not settings.REDIS_URL:
        _warn_unenforced()
        return None
    return _client(settings.REDIS_URL)


@functools.cache
def _warn_unenforced() -> None:
    logger.warning("REDIS_URL is not set: circuit breakers and rate limits are not enforced")


# What CircuitBreaker.allow() answers: whether the caller may send, and whether a success must be reported.
REFUSED = 0
CLEAN = 1  # closed with no failures counted: a success changes nothing, so it needs no round trip
TRIAL = 2  # half-open: this caller's send is the one trial
FAILURES_COUNTED = 3  # closed, with failures counted that a success resets

# KEYS[1] breaker hash; ARGV: threshold, cooldown s, trial timeout s, action (allow|success|failure)
# Fields: failures, open_until, trial_until (seconds, Redis TIME). Returns the state after the action,
# and for "allow" one of the answers above (REFUSED, CLEAN, TRIAL, FAILURES_COUNTED).
_BREAKER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local threshold, cooldown, trial_ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local action = ARGV[4]
-- Forget a breaker only long after it could matter (an idle provider's old failures).
local keep = math.max(3600, math.ceil((cooldown + trial_ttl) * 10))
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0')
local open_until = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
local trial_until = tonumber(redis.call('HGET', KEYS[1], 'trial_until') or '0')
if action == 'success' then
  redis.call('DEL', KEYS[1])
  return {1, 'closed'}
end
if action == 'failure' then
  failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  if open_until > 0 or failures >= threshold then
    redis.call('HSET', KEYS[1], 'open_until', now + cooldown, 'trial_until', 0)
    redis.call('EXPIRE', KEYS[1], keep)
    return {0, 'open'}
  end
  redis.call('EXPIRE', KEYS[1], keep)
  return {1, 'closed'}
end
if open_until == 0 then
  if failures > 0 then return {3, 'closed'} end
  return {1, 'closed'}
end
if now < open_until then return {0, 'open'} end
if action == 'peek' then return {2, 'half-open'} end
if now < trial_until then return {0, 'half-open'} end
redis.call('HSET', KEYS[1], 'trial_until', now + trial_ttl)
return {2, 'half-open'}
"""

# KEYS[1] bucket hash; ARGV: capacity, refill per second, count. A positive count takes up to that many
# tokens (as many whole ones as the bucket holds); a negative one gives back tokens taken but not used.
# Returns {tokens granted, ms until a token when none was}.
_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local capacity, rate, count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or capacity)
local stamp = tonumber(redis.call('HGET', KEYS[1], 'stamp') or now)
tokens = math.min(capacity, tokens + (now - stamp) * rate)
local granted, wait = 0, 0
if count < 0 then
  tokens = math.min(capacity, tokens - count)
elseif tokens >= 1 then
  granted = math.min(count, math.floor(tokens))
  tokens = tokens - granted
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'stamp', now)
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return {granted, wait}
"""


@dataclass(frozen=True)
class CircuitBreaker:
    """Opens after `threshold` consecutive transient failures; after `cooldown` one trial may go through."""

    key: str
    threshold: int
    cooldown: float
    trial_timeout: float = 30.0

    def _run(self, action: str) -> tuple[int, str]:
        if redis_client() is None:
            return CLEAN, "closed"
        script = _script(settings.REDIS_URL, _BREAKER)
        verdict, state = script(keys=[f"{PREFIX}breaker:{self.key}"],
                                args=[self.threshold, self.cooldown, self.trial_timeout, action])
        return int(verdict), state.decode() if isinstance(state, bytes) else state

    def allow(self) -> int:
        """May a request go to this provider now (truthy)? In half-open state only one caller is let through.

        Pass the value to `record_success`, which skips the round trip when nothing needs resetting.
        """
        return self._run("allow")[0]

    def state(self) -> str:
        """closed, open or half-open (without taking the trial)."""
        return self._run("peek")[1]

    def record_success(self, admission: int = TRIAL) -> None:
        if admission != CLEAN:  # nothing to reset
            self._run("success")

    def record_failure(self) -> bool:
        """Count a transient failure; True if the breaker is open now."""
        return self._run("failure")[1] == "open"


@dataclass(frozen=True)
class RateLimiter:
    """A token bucket: `per_minute` sends a minute, in bursts of at most that many."""

    key: str
    per_minute: int

    def acquire(self, count: int = 1) -> tuple[int, float]:
        """Take up to `count` sends at once: (how many may go now, seconds until one may if none).

        Never more than the bucket holds: what is granted is what may be sent.
        """
        if redis_client() is None or self.per_minute <= 0:
            return count, 0.0
        return self._take(count)

    def release(self, count: int) -> None:
        """Give back `count` sends taken with `acquire` that will not be made (capped at the bucket's size)."""
        if count > 0 and redis_client() is not None and self.per_minute > 0:
            self._take(-count)

    def _take(self, count: int) -> tuple[int, float]:
        return take_tokens(f"rate:{self.key}", self.per_minute, self.per_minute / 60, count)


def take_tokens(key: str, capacity: int, per_second: float, count: int) -> tuple[int, float]:
    """One round trip to the token bucket `key` (under PREFIX): (tokens granted, seconds until one if none).

    The bucket holds at most `capacity` tokens and refills `per_second`. A count of 0 takes nothing
    and only answers whether a token is there (the wait is 0 if so); a negative count gives tokens back.
    Needs REDIS_URL; raises redis.RedisError when Redis does not answer.
    """
    granted, wait_ms = _script(settings.REDIS_URL, _BUCKET)(keys=[f"{PREFIX}{key}"], args=[capacity, per_second, count])
    return int(granted), int(wait_ms) / 1000


def take_tokens_at_once(*takes: tuple[str, int, float, int]) -> list[tuple[int, float]]:
    """take_tokens for several buckets, (key, capacity, per_second, count) each, in one round trip.

    Answers in the same order. Needs REDIS_URL; raises redis.RedisError when Redis does not answer.
    """
    script = _script(settings.REDIS_URL, _BUCKET)
    try:
        return _evalsha_pipelined(script, takes)
    except redis.exceptions.NoScriptError:  # Redis lost its scripts (restarted): load it again
        script.sha = _client(settings.REDIS_URL).script_load(script.script)
        return _evalsha_pipelined(script, takes)


def _evalsha_pipelined(script, takes) -> list[tuple[int, float]]:
    # EVALSHA itself: a script called on a pipeline costs a SCRIPT EXISTS round trip first.
    pipe = _client(settings.REDIS_URL).pipeline(transaction=False)
    for key, capacity, per_second, count in takes:
        pipe.evalsha(script.sha, 1, f"{PREFIX}{key}", capacity, per_second, count)
    return [(int(granted), int(wait_ms) / 1000) for granted, wait_ms in pipe.execute()]


def breaker_for(account_key: str) -> CircuitBreaker:
    return CircuitBreaker(key=account_key, threshold=settings.SMS_BREAKER_FAILURES,
                          cooldown=settings.SMS_BREAKER_COOLDOWN_SECONDS)


def limiter_for(tenant, provider_name: str, per_minute: int | None) -> RateLimiter:
    rate = settings.SMS_RATE_LIMIT_PER_MINUTE if per_minute is None else per_minute
    return RateLimiter(key=f"{tenant.pk}:{provider_name}", per_minute=rate)
