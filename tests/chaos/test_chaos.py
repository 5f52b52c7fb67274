"""Chaos: workers killed, two beats, a failing carrier, Redis away. Nothing accepted is lost.

Each test runs real celery workers and sweeper processes against the test
database and a loopback fake Twilio, counts every send the carrier saw, and
reports duplicates. Times are scaled down: a stale claim is retaken after
3 s instead of 120 s, an open circuit breaker tries again after 2 s instead of
60 s, and Redis is away 8 s instead of 60 s (CHAOS_REDIS_DOWN_SECONDS=60 for
the full exercise).

Nothing here depends on the machine's speed: every wait is a deadline many
times what it takes on a quiet machine (booting the processes included), and
a duplicate that a client timeout explains (a loaded machine answers late) is
told apart from one the design does not allow.
"""

import os
import shutil
import signal
import subprocess
import time
from collections import Counter

import pytest
import redis
from django.conf import settings
from django.db import connection

from smsgate.celery import app as celery_app
from smsgate.models import Message, MessageEvent, Tenant
from smsgate.sending.submit import SmsRequest, submit
from tests.chaos.harness import Processes, wait_until
from tests.fakes.server import Reply
from tests.fakes.twilio import FakeTwilio

# Longer than the deadlines of the longest test below (the Redis one), shorter than a sweeper's life.
pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True), pytest.mark.timeout(500)]
CLIENT_TIMEOUT = 1  # PROVIDER_HTTP_TIMEOUT of the workers, in seconds

if connection.vendor != "postgresql" or not settings.REDIS_URL:
    pytest.skip("chaos tests need Postgres and Redis", allow_module_level=True)


def queue(count: int) -> list[int]:
    """`count` messages due now, each with its own body so the carrier's log tells them apart."""
    tenant, _ = Tenant.objects.get_or_create(slug="chaos", defaults={"name": "Chaos", "default_region": "US"})
    return submit(tenant, [SmsRequest(to="+14155550123", body=f"chaos {n}") for n in range(count)]).ids


def duplicates(fake: FakeTwilio) -> Counter:
    """Per message body, the copies the carrier accepted beyond the first (refused requests are not sends)."""
    bodies = Counter(message["body"] for message in fake.messages.values())
    return Counter({body: n - 1 for body, n in bodies.items() if n > 1})


def unexplained_duplicates(fake: FakeTwilio, ids: list[int]) -> int:
    """Duplicate sends that no client timeout on an accepted request explains.

    A send the carrier accepted but answered after PROVIDER_HTTP_TIMEOUT is recorded as a timed-out attempt
    and made again later: the worker cannot tell it from a request that never arrived, and on a busy machine
    the loopback fake answers that late. Each timed-out attempt of a message explains one duplicate of it,
    except timeouts on requests the fake answered with a slow fault: those accepted nothing.
    """
    timeouts = Counter(MessageEvent.objects.filter(message__in=ids, kind=MessageEvent.Kind.ATTEMPT, ok=False,
                                                   error_message__contains="timed out")
                       .values_list("message__body", flat=True))
    slow_faults = Counter(request.field("Body") for request, reply in fake.faulted if reply.delay >= CLIENT_TIMEOUT)
    return (duplicates(fake) - (timeouts - slow_faults)).total()


def report(fake: FakeTwilio, ids: list[int]) -> str:
    return (f"{duplicates(fake).total()} duplicate send(s) of {len(ids)}, "
            f"{unexplained_duplicates(fake, ids)} not explained by a client timeout")


def all_sent(ids: list[int]) -> bool:
    return Message.objects.filter(pk__in=ids, status="sent", provider="twilio").count() == len(ids)


@pytest.fixture
def chaos(tmp_path, request):
    """A fake Twilio and a process starter whose environment points every process at it."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    celery_app.conf.task_always_eager = False  # every send must happen in the worker processes
    with FakeTwilio() as fake:
        env = {"REDIS_URL": settings.REDIS_URL, "CELERY_BROKER_URL": settings.REDIS_URL,
               "SMS_PRIMARY_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": fake.account_sid,
               "TWILIO_AUTH_TOKEN": fake.auth_token, "TWILIO_FROM_NUMBER": "+15005550006",
               "TWILIO_API_BASE_URL": fake.url, "SMS_CLAIM_STALE_SECONDS": "3", "SMS_RETRY_BASE_SECONDS": "1",
               "SMS_RETRY_MAX_SECONDS": "2", "PROVIDER_HTTP_TIMEOUT": str(CLIENT_TIMEOUT), "SMS_DISPATCH_CHUNK": "20",
               "SMS_BREAKER_COOLDOWN_SECONDS": "2"}
        processes = Processes(env, tmp_path)
        yield fake, processes
        processes.stop_all()
        request.node.user_properties.append(("duplicates", duplicates(fake).total()))


def test_two_beats_send_each_message_once(chaos):
    fake, processes = chaos
    ids = queue(400)
    processes.worker(concurrency=2)
    processes.sweeper()
    processes.sweeper()
    assert wait_until(lambda: all_sent(ids), timeout=180), "messages were lost"
    assert unexplained_duplicates(fake, ids) == 0, report(fake, ids)


def test_a_worker_killed_mid_campaign_loses_nothing(chaos):
    fake, processes = chaos
    fake.delay = 0.01
    ids = queue(600)
    worker = processes.worker(concurrency=2)
    processes.sweeper()
    assert wait_until(lambda: Message.objects.filter(pk__in=ids, status="sent").count() > 50, timeout=120)
    processes.kill(worker)  # kill -9 the worker and its pool mid-dispatch
    processes.worker(concurrency=2)
    assert wait_until(lambda: all_sent(ids), timeout=180), "messages were lost"
    # Sends in flight when it died may be repeated: at most one commit batch per pool process.
    assert unexplained_duplicates(fake, ids) <= 2 * settings.SMS_DISPATCH_COMMIT_EVERY, report(fake, ids)
    print(f"\nworker killed mid-dispatch: {report(fake, ids)}")


def test_carrier_errors_and_timeouts_delay_but_lose_nothing(chaos):
    fake, processes = chaos
    faults = [Reply(500, {"code": 20500, "message": "Internal Server Error", "status": 500})] * 20
    faults += [Reply(429, {"code": 20429, "message": "Too Many Requests", "status": 429})] * 20
    faults += [Reply(503, "", delay=CLIENT_TIMEOUT + 0.5)] * 5  # no answer within our timeout
    fake.fail_next(*faults)
    ids = queue(200)
    # Retries and backoff are under test here; a breaker that opens would only pace the retries
    # (one probe per cooldown) and is tested on its own in test_resilience.
    processes.env["SMS_BREAKER_FAILURES"] = "1000"
    processes.worker(concurrency=2)
    processes.sweeper()
    assert wait_until(lambda: all_sent(ids), timeout=180), "messages were lost"
    assert Message.objects.filter(pk__in=ids, attempts__gt=1).exists()  # some were retried
    assert unexplained_duplicates(fake, ids) == 0, report(fake, ids)


@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server to run a private one")
def test_redis_away_delays_but_loses_nothing(chaos, tmp_path):
    fake, processes = chaos
    port = 6390 + os.getpid() % 100
    url = f"redis://127.0.0.1:{port}/0"
    server_args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(server_args, stdout=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: _pings(url), timeout=60)
        processes.env.update(REDIS_URL=url, CELERY_BROKER_URL=url)
        ids = queue(150)
        workers = [processes.worker(concurrency=2)]
        processes.sweeper()
        assert wait_until(lambda: Message.objects.filter(pk__in=ids, status="sent").exists(), timeout=120)
        server.send_signal(signal.SIGKILL)
        server.wait()
        time.sleep(int(os.environ.get("CHAOS_REDIS_DOWN_SECONDS", "8")))
        server = subprocess.Popen(server_args, stdout=subprocess.DEVNULL)

        def all_sent_under_a_supervisor() -> bool:
            """Celery 5.7's worker can exit on a lost Redis broker ("Unrecoverable error"), at once or seconds
            later; in production the process manager restarts it (Procfile platforms, docker-compose `restart`).
            Do the same here, whenever it happens."""
            if workers[-1].poll() is not None:
                print("\nthe worker exited when Redis went away; restarted as a supervisor would")
                workers.append(processes.worker(concurrency=2))
            return all_sent(ids)

        assert wait_until(all_sent_under_a_supervisor, timeout=180), "messages were lost"
        assert unexplained_duplicates(fake, ids) <= 2 * settings.SMS_DISPATCH_COMMIT_EVERY, report(fake, ids)
    finally:
        server.kill()
        server.wait()


def _pings(url: str) -> bool:
    try:
        return redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        return False
