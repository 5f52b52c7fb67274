"""GET /metrics: Prometheus exposition of what is in the database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from smsgate.models import Message
from smsgate.sending.resilience import breaker_for
from tests.sending import submit_one

pytestmark = pytest.mark.django_db


def seed(tenant):
    for status, provider in [("sent", "twilio"), ("sent", "twilio"), ("failed", "smsc")]:
        message = submit_one(tenant=tenant, to="+5511987654321", body="hi", send_at=timezone.now() + timedelta(hours=1))
        Message.objects.filter(pk=message.pk).update(status=status, provider=provider)
    late = submit_one(tenant=tenant, to="+5511987654321", body="late", send_at=timezone.now() + timedelta(hours=1))
    Message.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(seconds=90))


def test_it_exposes_messages_queue_depth_and_breakers(client, tenant, settings):
    seed(tenant)
    breaker = breaker_for("smsc:default")
    for _ in range(settings.SMS_BREAKER_FAILURES):
        breaker.record_failure()
    response = client.get("/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'smsgate_messages{provider="twilio",status="sent"} 2.0' in text
    assert 'smsgate_messages{provider="smsc",status="failed"} 1.0' in text
    assert "smsgate_due_messages 1.0" in text
    age = float(next(line.split()[1] for line in text.splitlines()
                     if line.startswith("smsgate_oldest_due_message_age_seconds ")))
    assert 89 <= age <= 120
    if settings.REDIS_URL:
        assert 'smsgate_circuit_breaker_open{provider="smsc"} 1.0' in text
        assert 'smsgate_circuit_breaker_open{provider="twilio"} 0.0' in text


def test_a_metrics_token_is_required_when_set(client, settings):
    settings.METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200


