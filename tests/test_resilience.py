"""Circuit breakers and rate limits in Redis, checked across several OS processes."""

import multiprocessing
import time

import pytest
from django.conf import settings

from smsgate.sending.resilience import CircuitBreaker, RateLimiter, redis_client

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")


def test_the_breaker_opens_after_n_consecutive_failures_and_a_success_resets_the_count():
    breaker = CircuitBreaker(key="t:count", threshold=3, cooldown=60)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.allow() == 3 and breaker.state() == "closed"  # closed, failures counted
    breaker.record_failure()
    assert breaker.state() == "open" and not breaker.allow()


def test_after_the_cooldown_one_trial_goes_through_and_its_outcome_decides():
    cooldown = 2  # no pause of a busy machine between two calls lasts that long
    breaker = CircuitBreaker(key="t:trial", threshold=1, cooldown=cooldown, trial_timeout=30)
    breaker.record_failure()
    assert not breaker.allow()
    time.sleep(cooldown + 0.05)
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # only one at a time
    breaker.record_failure()  # the trial failed: open again
    assert breaker.state() == "open"
    time.sleep(cooldown + 0.05)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state() == "closed" and breaker.allow() == 1  # clean: a success needs no round trip


def test_a_lost_trial_is_given_again_after_its_timeout():
    trial_timeout = 2  # no pause of a busy machine between two calls lasts that long
    breaker = CircuitBreaker(key="t:lost", threshold=1, cooldown=0.1, trial_timeout=trial_timeout)
    breaker.record_failure()
    time.sleep(0.15)
    assert breaker.allow()
    assert not breaker.allow()
    time.sleep(trial_timeout + 0.05)
    assert breaker.allow()


def test_the_bucket_grants_a_minutes_worth_then_waits():
    limiter = RateLimiter(key="t:bucket", per_minute=6)  # a token every 10 s: none comes back while the test runs
    grants = [limiter.acquire() for _ in range(7)]
    assert all(granted for granted, _ in grants[:6])
    granted, wait = grants[6]
    assert not granted and 0 < wait <= 10.01


def test_a_zero_rate_means_no_limit():
    limiter = RateLimiter(key="t:none", per_minute=0)
    assert all(limiter.acquire()[0] for _ in range(500))


def test_a_batch_takes_at_most_what_the_bucket_holds_and_can_give_back_what_it_did_not_use():
    limiter = RateLimiter(key="t:batch", per_minute=10)
    assert limiter.acquire(4) == (4, 0)
    assert limiter.acquire(10)[0] == 6  # only what is left, never the whole batch
    granted, wait = limiter.acquire(3)
    assert granted == 0 and 0 < wait <= 6.01
    limiter.release(5)
    assert limiter.acquire(10)[0] == 5
    limiter.release(100)  # more than was ever taken: the bucket holds at most its size
    assert limiter.acquire(100)[0] == 10


def _hammer_limiter(redis_url, key, per_minute, attempts, start, results, batch=1):
    import django
    from django.conf import settings as s

    if not s.configured:
        django.setup()
    s.REDIS_URL = redis_url
    limiter = RateLimiter(key=key, per_minute=per_minute)
    redis_client().ping()
    start.wait()
    started = time.monotonic()
    granted = sum(limiter.acquire(batch)[0] for _ in range(attempts))
    results.put((granted, started, time.monotonic()))


def _race_for_trial(redis_url, key, start, results):
    import django
    from django.conf import settings as s

    if not s.configured:
        django.setup()
    s.REDIS_URL = redis_url
    breaker = CircuitBreaker(key=key, threshold=1, cooldown=0.2, trial_timeout=60)
    redis_client().ping()
    start.wait()
    started = time.monotonic()
    results.put((bool(breaker.allow()), started, time.monotonic()))


def _run_processes(target, args_for, count=6, **kwargs) -> tuple[list, float]:
    """Run `target` in `count` processes, released together once each is ready (Django set up, Redis connected).

    Each puts (result, when it started, when it finished) on the queue. Returns the results and the seconds
    from the first start to the last finish: how long the bucket had to refill.
    """
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(count + 1), context.Queue()
    processes = [context.Process(target=target, args=(*args_for, start, results), kwargs=kwargs)
                 for _ in range(count)]
    for process in processes:
        process.start()
    start.wait(timeout=120)  # starting Python and Django takes seconds per process on a busy machine
    values, starts, finishes = zip(*(results.get(timeout=120) for _ in processes), strict=True)
    for process in processes:
        process.join(timeout=120)
    return list(values), max(finishes) - min(starts)


def test_the_rate_limit_holds_across_processes():
    # 6 processes x 40 tries against 100/minute: the 100 in the bucket, and what refilled while they ran.
    granted, seconds = _run_processes(_hammer_limiter, (settings.REDIS_URL, "t:multi", 100, 40))
    assert 100 <= sum(granted) <= 100 + seconds * 100 / 60


def test_batched_acquires_hold_the_rate_limit_across_processes():
    # 6 processes taking batches of 7, 10 times each, against 100/minute.
    granted, seconds = _run_processes(_hammer_limiter, (settings.REDIS_URL, "t:multi-batch", 100, 10), batch=7)
    assert 100 <= sum(granted) <= 100 + seconds * 100 / 60


def test_half_open_admits_exactly_one_trial_across_processes():
    breaker = CircuitBreaker(key="t:multi-trial", threshold=1, cooldown=0.2, trial_timeout=60)
    breaker.record_failure()
    time.sleep(0.25)
    allowed, _ = _run_processes(_race_for_trial, (settings.REDIS_URL, "t:multi-trial"))
    assert allowed.count(True) == 1
