"""The recovery journey through a real Celery worker on the real Redis broker (no eager mode)."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from smsgate.celery import app as celery_app
from smsgate.models import Message
from tests.chaos.harness import wait_until
from tests.tribopay_support import SECRET, post, postback
from webhooks.models import WebhookEvent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis://"), reason="needs the Redis broker"),
]
# Seconds for the worker to do a task: well under one on a quiet machine, far more on a busy one.
DEADLINE = 120


@pytest.fixture
def worker():
    celery_app.conf.task_always_eager = False
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=DEADLINE):
        yield


@pytest.mark.django_db(transaction=True)
def test_a_postback_is_processed_by_the_worker_and_the_sms_sent_when_due(worker, twilio, settings):
    settings.TRIBOPAY_WEBHOOK_SECRET = SECRET
    settings.RECOVERY_DELAY_SECONDS = 3600
    response = post(postback())
    assert response.status_code == 200

    event = WebhookEvent.objects.get()
    # Answered before any processing: that is the worker's, once beat hands it the event.
    assert event.outcome == WebhookEvent.Outcome.PENDING and not Message.objects.exists()
    celery_app.send_task("webhooks.dispatch_events")  # what beat sends every 2 s
    assert wait_until(lambda: WebhookEvent.objects.filter(pk=event.pk, outcome="recovery_scheduled").exists(),
                      DEADLINE)
    message = Message.objects.get(source_type="payment")
    assert message.status == "scheduled" and twilio.sent == []

    Message.objects.filter(pk=message.pk).update(due_at=message.created_at)  # the hour has passed
    celery_app.send_task("smsgate.sweep_due_messages")  # what beat sends every 5 s
    assert wait_until(lambda: len(twilio.sent) == 1, DEADLINE)
    assert "R$ 50,00" in twilio.sent[0]["body"]
