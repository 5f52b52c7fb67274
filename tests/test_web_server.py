"""The web process as production runs it: gunicorn with gunicorn.conf.py (gevent workers, a database pool).

A real gunicorn with one worker process on loopback, against the test
database. What must hold there: a carrier call that takes its time (libcurl
blocks its thread) does not stop the process's other requests; postbacks
arriving together are each stored once (the group commit, on greenlets),
and those waiting for a write leave the pool's connections to the writer;
however many requests run at once, the process holds no more Postgres
connections than its pool; and connections the database dropped are
replaced, not handed to a postback.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.db import connection

from smsgate.models import ApiKey, Tenant
from tests.chaos.harness import BOOT_TIMEOUT, Processes, answering, database_url, free_port, wait_until
from tests.fakes.smsc import FakeSmsc
from tests.tribopay_support import SECRET, postback
from webhooks.ingest import default_tenant
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

if connection.vendor != "postgresql":
    pytest.skip("the web process's pool is Postgres's", allow_module_level=True)


WEB_APP_NAME = "smsgate-web-under-test"  # how the web process's Postgres connections are told apart
# How long a client waits for an answer, in seconds: a busy 2-core machine is slow, and an answer that comes
# is what these tests are about, not how soon. The carrier below holds its request twice as long at most.
PATIENCE = 60


class HeldSmsc(FakeSmsc):
    """A fake SMSC that holds every balance request until the test releases it."""

    def __init__(self):
        super().__init__()
        self.holding = threading.Event()
        self.release = threading.Event()

    def _balance(self, request):
        self.holding.set()
        self.release.wait(2 * PATIENCE)
        return super()._balance(request)


@pytest.fixture
def web(tmp_path):
    """Start gunicorn as production does, one worker process; yields a function (env) -> base URL."""
    processes = Processes({"DATABASE_URL": f"{database_url()}?application_name={WEB_APP_NAME}",
                           "REDIS_URL": settings.REDIS_URL, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                           "ALLOWED_HOSTS": "127.0.0.1", "TRIBOPAY_WEBHOOK_SECRET": SECRET}, tmp_path)

    def start(**env: str) -> str:
        port = free_port()
        process = processes.web(port, **env)
        base = f"http://127.0.0.1:{port}"

        assert wait_until(lambda: answering(f"{base}/healthz", process, f"its log is in {tmp_path}"),
                          timeout=BOOT_TIMEOUT, every=0.1), "gunicorn did not answer; its log is in " + str(tmp_path)
        return base

    yield start
    processes.stop_all()


def api_key() -> str:
    """A key of the default tenant, the one postbacks belong to."""
    return ApiKey.issue(tenant=default_tenant(), name="web server test")[1]


def get(url: str, key: str, timeout: float = PATIENCE) -> dict:
    response = requests.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout)
    response.raise_for_status()
    return response.json()


def post_postback(base: str, payment_id: str, timeout: float = PATIENCE) -> dict:
    response = requests.post(f"{base}/api/webhooks/tribopay/?token={SECRET}", json=postback(payment_id),
                             timeout=timeout)
    response.raise_for_status()
    return response.json()


def test_a_slow_carrier_call_does_not_hold_up_the_other_requests_of_its_process(web):
    with HeldSmsc() as smsc:
        base = web(SMSC_LOGIN=smsc.login, SMSC_PASSWORD=smsc.password, SMSC_BASE_URL=smsc.url)
        key = api_key()
        with ThreadPoolExecutor(1) as pool:
            balance = pool.submit(get, f"{base}/api/v1/sms/balance?provider=smsc", key, 3 * PATIENCE)
            assert smsc.holding.wait(PATIENCE), "the balance request never reached the carrier"

            answer = post_postback(base, "while-the-carrier-thinks")  # same process, carrier still holding

            assert answer["received"] is True and not balance.done()
            smsc.release.set()
            assert balance.result()["balances"][0]["amount"] == "84.75"


def test_concurrent_postbacks_are_all_stored_once_and_a_replay_is_a_duplicate(web):
    base = web()
    with ThreadPoolExecutor(16) as clients:
        answers = list(clients.map(lambda n: post_postback(base, f"many-{n}"), range(200)))
    assert sum(not answer["duplicate"] for answer in answers) == 200
    assert WebhookEvent.objects.filter(tribopay_id__startswith="many-").count() == 200
    replay = post_postback(base, "many-7")
    assert replay["duplicate"] is True and replay["event_id"] == answers[7]["event_id"]
    assert WebhookEvent.objects.count() == 200


def test_postbacks_waiting_for_a_write_leave_the_pool_to_the_writer(web):
    """The default tenant deleted: the writer recreates it, the waiting requests hold no connection."""
    Tenant.objects.filter(slug=Tenant.DEFAULT_SLUG).delete()
    base = web(DATABASE_POOL_SIZE="2")
    with ThreadPoolExecutor(16) as clients:
        answers = list(clients.map(lambda n: post_postback(base, f"no-tenant-{n}"), range(100)))
    assert [answer["duplicate"] for answer in answers] == [False] * 100
    assert WebhookEvent.objects.filter(tenant__slug=Tenant.DEFAULT_SLUG).count() == 100


def test_the_process_holds_no_more_database_connections_than_its_pool(web):
    base = web(DATABASE_POOL_SIZE="2")
    key = api_key()
    seen = []
    running = threading.Event()
    running.set()

    def count_connections():
        with connection.cursor() as cursor:
            while running.is_set():
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [WEB_APP_NAME])
                seen.append(cursor.fetchone()[0])
                time.sleep(0.005)
        connection.close()  # this thread's own

    def requests_of_one_client(client: int) -> int:
        for n in range(5):
            get(f"{base}/api/v1/sms/stats", key)
            post_postback(base, f"pool-{client}-{n}")
        return client

    counter = threading.Thread(target=count_connections)
    counter.start()
    try:
        with ThreadPoolExecutor(20) as clients:
            assert sorted(clients.map(requests_of_one_client, range(20))) == list(range(20))
    finally:
        running.clear()
        counter.join()
    assert 1 <= max(seen) <= 2


def test_postbacks_are_accepted_again_once_the_database_dropped_the_pools_connections(web):
    """As after a Postgres restart or failover: the pool checks a connection before handing it out."""
    base = web()
    assert post_postback(base, "before")["received"] is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
                       [WEB_APP_NAME])
        assert cursor.fetchone()[0] >= 1
    assert post_postback(base, "after")["received"] is True
    assert WebhookEvent.objects.filter(tribopay_id__in=["before", "after"]).count() == 2
