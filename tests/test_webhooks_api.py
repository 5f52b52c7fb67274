"""/api/webhooks/ operator endpoints (events, SMS logs, test SMS, stats, health) and the two commands."""

from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from providers.memory import MemoryProvider
from smsgate.models import Message
from tests.conftest import client_for
from tests.tribopay_support import PHONE, SECRET, post, postback, processing
from webhooks.ingest import default_tenant
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.TRIBOPAY_WEBHOOK_SECRET = SECRET


@pytest.fixture
def default_api():
    return client_for(default_tenant())


@pytest.fixture
def event():
    with processing():
        response = post(postback(payment_id="pay_42"))
    return WebhookEvent.objects.get(pk=response.json()["event_id"])


@pytest.mark.parametrize("path", ["events/", "events/1/", "sms-logs/", "stats/"])
def test_the_operator_endpoints_need_an_api_key(path):
    assert Client().get(f"/api/webhooks/{path}").status_code == 401


def test_events_are_listed_and_shown_with_their_raw_payload(default_api, event):
    listed = default_api.get("/api/webhooks/events/")
    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert (row["id"], row["tribopay_id"], row["status"], row["outcome"]) == (
        event.pk, "pay_42", "waiting_payment", "recovery_scheduled")

    detail = default_api.get(f"/api/webhooks/events/{event.pk}/")
    assert detail.status_code == 200
    body = detail.json()
    assert body["payload"] == postback(payment_id="pay_42")
    assert body["payment"]["amount_cents"] == 5000 and body["payment"]["recovery_message_status"] == "scheduled"


def test_events_can_be_filtered(default_api, event):
    assert default_api.get("/api/webhooks/events/?status=paid").json()["count"] == 0
    assert default_api.get("/api/webhooks/events/?tribopay_id=pay_42").json()["count"] == 1


def test_another_tenant_sees_none_of_the_default_tenants_events(tenant, event):
    other = client_for(tenant)
    assert other.get("/api/webhooks/events/").json()["count"] == 0
    assert other.get(f"/api/webhooks/events/{event.pk}/").status_code == 404
    assert other.get("/api/webhooks/sms-logs/").json()["count"] == 0
    assert other.get("/api/webhooks/stats/").json()["waiting"] == 0


def test_sms_logs_show_recovery_and_test_sms_but_not_other_traffic(default_api, event):
    from tests.sending import submit_one

    submit_one(tenant=default_tenant(), to=PHONE, body="unrelated", source_type="api")
    default_api.post("/api/webhooks/test-sms/", {"phone_number": PHONE, "message": "ping"}, format="json")
    rows = default_api.get("/api/webhooks/sms-logs/").json()["results"]
    assert sorted((r["source_type"], r["body"][:4]) for r in rows) == [("payment", "Oi M"), ("test_sms", "ping")]


@pytest.mark.django_db(transaction=True)
def test_test_sms_sends_now(default_api):
    response = default_api.post("/api/webhooks/test-sms/", {"phone_number": PHONE, "message": "ping"}, format="json")
    assert response.status_code == 202, response.content
    assert Message.objects.get(pk=response.json()["id"]).status == "sent"
    assert MemoryProvider.outbox[0]["body"] == "ping"


@pytest.mark.parametrize(("payload", "field"), [
    ({"message": "ping"}, "phone_number"),
    ({"phone_number": "12", "message": "ping"}, "phone_number"),
    ({"phone_number": PHONE, "message": ""}, "message"),
    ({"phone_number": PHONE, "message": "x" * 1601}, "message"),
])
def test_test_sms_rejects_bad_input_with_field_errors(default_api, payload, field):
    response = default_api.post("/api/webhooks/test-sms/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Message.objects.count() == 0


def test_health_is_public_and_says_what_it_checked():
    response = Client().get("/api/webhooks/health/")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "cache": "ok"}


def test_health_is_503_when_the_broker_is_down():
    with mock.patch.dict("smsgate.console.health.CHECKS", broker=mock.Mock(side_effect=ConnectionError("refused"))):
        response = Client().get("/api/webhooks/health/")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["checks"]["broker"].startswith("error: ConnectionError")


def test_simulate_webhook_posts_through_the_real_endpoint():
    out = StringIO()
    with processing():
        call_command("simulate_webhook", "--phone", PHONE, "--status", "waiting_payment", "--amount", "7500",
                     "--payment-id", "sim_1", stdout=out)
    assert "Posted payment sim_1" in out.getvalue()
    event = WebhookEvent.objects.get(tribopay_id="sim_1")
    assert event.payload["amount"] == 7500 and event.outcome == "recovery_scheduled"
    assert "R$ 75,00" in Message.objects.get().body

    with processing():
        call_command("simulate_webhook", "--phone", PHONE, "--status", "paid", "--payment-id", "sim_1", stdout=out)
    assert Message.objects.get().status == "cancelled"


def test_simulate_webhook_needs_the_secret(settings):
    settings.TRIBOPAY_WEBHOOK_SECRET = ""
    with pytest.raises(CommandError, match="TRIBOPAY_WEBHOOK_SECRET"):
        call_command("simulate_webhook", "--phone", PHONE, stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_test_sms_command_sends_the_recovery_text_now():
    out = StringIO()
    call_command("test_sms", "--phone", PHONE, "--name", "Joao Souza", "--amount", "5000", stdout=out)
    [sms] = MemoryProvider.outbox
    assert sms["body"].startswith("Oi Joao! Seu PIX de R$ 50,00 ainda esta pendente.")
    assert "is sent" in out.getvalue()


def test_test_sms_command_reports_a_bad_number():
    with pytest.raises(CommandError, match="phone number"):
        call_command("test_sms", "--phone", "12", stdout=StringIO())


def test_beat_hands_postbacks_to_the_workers_every_two_seconds():
    from django_celery_beat.models import PeriodicTask

    call_command("setup_periodic_tasks", stdout=StringIO())
    task = PeriodicTask.objects.get(task="webhooks.dispatch_events")
    assert task.enabled and task.interval.every == 2
