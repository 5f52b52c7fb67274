"""The whole road with real processes: API -> Postgres -> Redis broker -> celery worker -> fake Twilio."""

from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from smsgate.celery import app as celery_app
from smsgate.models import Message, MessageType
from smsgate.sending.submit import SmsRequest, submit
from smsgate.sending.tasks import sweep_due_messages_task
from tests.chaos.harness import Processes, wait_until
from tests.fakes import twilio as fake_twilio
from tests.sending import submit_one

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

if connection.vendor != "postgresql":
    pytest.skip("needs Postgres: a worker process cannot share an in-memory test database", allow_module_level=True)

# Seconds for the worker to boot and send: a second or two on a quiet machine, far more on a busy one.
DEADLINE = 120


@pytest.fixture
def processes(twilio, tmp_path):
    """A worker's environment, aimed at the fake Twilio and the test broker; no process started yet."""
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL for a broker shared with the worker")
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    processes = Processes({
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.REDIS_URL,
        "SMS_PRIMARY_PROVIDER": "twilio",
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_FROM_NUMBER": fake_twilio.FROM_NUMBER,
        "TWILIO_API_BASE_URL": twilio.url,
        "PUBLIC_BASE_URL": "https://gateway.example.com",
    }, tmp_path)
    celery_app.conf.task_always_eager = False
    yield processes
    processes.stop_all()


@pytest.fixture
def worker(processes, twilio):
    processes.worker(concurrency=1)
    return twilio


def test_an_sms_accepted_by_the_api_is_sent_by_a_real_worker(worker, api):
    response = api.post("/api/v1/sms/send", {"phone": "+14155550123", "message": "via a real worker"}, format="json")
    assert response.status_code == 202
    message_id = response.data["id"]
    connection.close()  # see the worker's writes with a fresh connection

    assert wait_until(lambda: Message.objects.get(pk=message_id).status == "sent", DEADLINE), "the worker never sent it"
    message = Message.objects.get(pk=message_id)
    assert message.provider == "twilio"
    assert [m["body"] for m in worker.sent] == ["via a real worker"]


def test_a_scheduled_message_that_becomes_due_is_sent_by_the_sweeper(worker, tenant):
    later = timezone.now() + timedelta(hours=1)
    message = submit_one(tenant=tenant, to="+14155550123", body="scheduled", send_at=later)
    Message.objects.filter(pk=message.pk).update(due_at=timezone.now())  # an hour passes
    sweep_due_messages_task.delay()  # what beat does every 5 seconds
    assert wait_until(lambda: Message.objects.get(pk=message.pk).status == "sent", DEADLINE), (
        "the sweeper never sent it")
    assert [m["body"] for m in worker.sent] == ["scheduled"]


def test_a_single_message_overtakes_a_campaign_backlog_waiting_in_the_broker(processes, twilio, tenant, settings):
    # A backlog bigger than what may be in flight: the sweeper claims 200 now (four chunks in the broker) and
    # the rest as those are sent, so the code below is not among its claims but goes by its own task.
    settings.SMS_MAX_IN_FLIGHT = 200
    processes.env["SMS_MAX_IN_FLIGHT"] = "200"
    backlog = submit(tenant, [SmsRequest(to=f"+1415555{n:04d}", body=f"campaign {n}") for n in range(300)],
                     message_type=MessageType.TRANSACTIONAL, source_type="campaign", source_id="1")
    assert sweep_due_messages_task() == 200
    code = submit_one(tenant=tenant, to="+14155559999", body="your code is 123456")  # its task is published now
    processes.worker(concurrency=1)
    connection.close()

    assert wait_until(lambda: len(twilio.sent) == 301, DEADLINE * 2), f"only {len(twilio.sent)} of 301 sent"
    order = [m["body"] for m in twilio.sent]
    # Without priorities the code went out after the 200 claimed before it; now at most a chunk the worker
    # had already taken from the broker precedes it.
    assert order.index(code.body) <= settings.SMS_DISPATCH_CHUNK, order.index(code.body)
    assert Message.objects.filter(pk__in=backlog.ids, status="sent").count() == 300
