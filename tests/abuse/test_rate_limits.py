"""API limits that must hold under concurrency: requests per API key, failed authentications per client IP.

Both are token buckets in the real Redis (smsgate/api/throttling.py). Threads
send through DRF's test client at the same time, as gunicorn's greenlets would.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from smsgate.api import throttling
from smsgate.api.auth import ApiKeyRateThrottle
from smsgate.api.throttling import FailedAuthThrottle
from smsgate.env import env_rate
from smsgate.models import ApiKey
from tests.chaos.harness import free_port, wait_until

URL = "/api/v1/sms/logs"
THREADS = 32


def with_key(raw_key: str, ip: str = "198.51.100.1"):
    """GET the logs with this key from this address; returns the response."""
    client = APIClient(REMOTE_ADDR=ip)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client.get(URL)


def in_threads(request, per_thread: int) -> list:
    """Run `request()` per_thread times in each of THREADS threads started together; all responses."""
    start = threading.Barrier(THREADS)

    def run() -> list:
        try:
            start.wait(timeout=60)
            return [request() for _ in range(per_thread)]
        finally:
            connections.close_all()  # this thread's database connection

    with ThreadPoolExecutor(THREADS) as pool:
        results = [pool.submit(run) for _ in range(THREADS)]
        return [response for result in results for response in result.result(timeout=300)]


@pytest.fixture
def rates():
    """Set throttle rates for one test: rates(api_key="100/hour", auth_failure="5/min")."""
    with pytest.MonkeyPatch.context() as patch:
        def set_rates(**scoped: str) -> None:
            for throttle in (ApiKeyRateThrottle, FailedAuthThrottle):
                patch.setattr(throttle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, **scoped})
        yield set_rates


@pytest.mark.django_db(transaction=True)
def test_32_threads_on_one_key_get_no_more_than_its_limit(tenant, rates):
    limit = 100
    rates(api_key=f"{limit}/hour")  # refills one request per 36 s
    _, raw_key = ApiKey.issue(tenant=tenant, name="hammered")

    started = time.monotonic()
    responses = in_threads(lambda: with_key(raw_key), per_thread=10)
    refilled = (time.monotonic() - started) / 36  # none unless the threads took 36 s

    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {200, 429}
    assert limit <= statuses.count(200) <= limit + refilled, f"{statuses.count(200)} passed with a limit of {limit}"
    refused = next(response for response in responses if response.status_code == 429)
    assert 1 <= int(refused["Retry-After"]) <= 36  # a token comes back every 36 s
    assert refused.json()["detail"].startswith("Request was throttled.")
    _, another_key = ApiKey.issue(tenant=tenant, name="another")
    assert with_key(another_key).status_code == 200  # another key has its own budget


@pytest.mark.django_db(transaction=True)
def test_a_bad_key_flood_from_one_address_is_refused_without_database_lookups(tenant, rates):
    limit = 5
    # A failure is forgiven every 12 minutes: the address is still blocked when the test checks, however slow.
    rates(auth_failure=f"{limit}/hour")
    _, good_key = ApiKey.issue(tenant=tenant, name="good")
    attacker, neighbour, customer = "203.0.113.66", "203.0.113.67", "198.51.100.20"

    started = time.monotonic()
    refused_after = None
    for attempt in range(limit + 20):
        response = with_key(f"guess-{attempt}", ip=attacker)
        if response.status_code == 429:
            refused_after = attempt
            break
        assert response.status_code == 401
    forgiven = int((time.monotonic() - started) // 720)  # tokens back meanwhile: none unless it took 12 min
    assert refused_after is not None and limit <= refused_after <= limit + forgiven
    assert 1 <= int(response["Retry-After"]) <= 720
    assert "Too many failed authentications" in response.json()["detail"]

    with CaptureQueriesContext(connection) as queries:
        assert with_key("guess-again", ip=attacker).status_code == 429
        assert with_key(good_key, ip=attacker).status_code == 429  # the address, not the key, is blocked
    assert len(queries) == 0

    assert with_key("guess-from-elsewhere", ip=neighbour).status_code == 401
    assert with_key(good_key, ip=customer).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_blocked_address_may_authenticate_again_once_its_retry_after_has_passed(tenant, rates):
    rates(auth_failure="10/min")  # a failure is forgiven every 6 s: guesses (well under 1 s each) outrun it
    _, good_key = ApiKey.issue(tenant=tenant, name="good")
    attacker = "203.0.113.99"
    guess = {}

    def blocked() -> bool:
        guess["started"] = time.monotonic()
        guess["response"] = with_key("guess", ip=attacker)
        guess["finished"] = time.monotonic()
        return guess["response"].status_code == 429

    assert wait_until(blocked, timeout=120, every=0)
    retry_after = int(guess["response"]["Retry-After"])  # the wait rounded up to whole seconds
    good = with_key(good_key, ip=attacker)
    # Blocked still, unless this request came after the token was due (the wait is over retry_after - 1 s).
    assert good.status_code == 429 or time.monotonic() - guess["started"] > retry_after - 1.01, good.status_code

    time.sleep(max(0.0, guess["finished"] + retry_after + 0.05 - time.monotonic()))  # Retry-After has passed
    assert with_key(good_key, ip=attacker).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_32_threads_of_bad_keys_cost_the_failure_limit_plus_what_was_in_flight(tenant, rates):
    """A key is looked up if the address has failures left; requests already past that check still look up."""
    limit = 40
    rates(auth_failure=f"{limit}/hour")  # a failure is forgiven every 90 s
    started = time.monotonic()
    responses = in_threads(lambda: with_key("guess", ip="203.0.113.5"), per_thread=10)
    refilled = (time.monotonic() - started) / 90  # none unless the threads took 90 s
    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {401, 429}
    assert limit <= statuses.count(401) <= limit + THREADS + refilled, (
        f"{statuses.count(401)} lookups with a limit of {limit}")


@pytest.mark.django_db(transaction=True)
def test_with_redis_away_the_api_answers_unthrottled(api, rates, settings, caplog, monkeypatch):
    rates(api_key="1/hour", auth_failure="1/hour")
    monkeypatch.setattr(throttling, "_redis_warned_at", None)  # the warning comes at most once a minute
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    assert [api.get(URL).status_code for _ in range(3)] == [200, 200, 200]
    assert [with_key("guess").status_code for _ in range(3)] == [401, 401, 401]
    assert "API rate limits are not enforced" in caplog.text


@pytest.mark.parametrize("written", ["1200/week", "1200", "0/min", "-5/min", "1200/mn", "many/min"])
def test_a_rate_setting_that_is_not_n_per_period_stops_the_start(written, monkeypatch):
    monkeypatch.setenv("API_RATE_LIMIT", written)
    with pytest.raises(ImproperlyConfigured, match="API_RATE_LIMIT must look like 1200/min"):
        env_rate("API_RATE_LIMIT", "1200/min")


@pytest.mark.parametrize(("written", "read"), [("300/minute", "300/minute"), ("10/s", "10/s"), ("", None)])
def test_a_rate_setting_is_n_per_period_or_empty_for_no_limit(written, read, monkeypatch):
    monkeypatch.setenv("API_AUTH_FAILURE_LIMIT", written)
    assert env_rate("API_AUTH_FAILURE_LIMIT", "30/min") == read
