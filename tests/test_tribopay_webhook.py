"""POST /api/webhooks/tribopay/: authentication, validation, raw storage, dedupe, hand-off to Celery."""

from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client

from smsgate.models import Message
from tests.tribopay_support import SECRET, post, postback
from webhooks.models import Payment, WebhookEvent
from webhooks.tasks import process_stale_events_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.TRIBOPAY_WEBHOOK_SECRET = SECRET


@pytest.mark.parametrize("token", [None, "", "wrong", SECRET + "x", SECRET[:-1]])
def test_a_forged_postback_is_403_and_stores_nothing(token):
    response = post(postback(), token=token)
    assert response.status_code == 403
    assert WebhookEvent.objects.count() == 0 and Payment.objects.count() == 0


def test_the_token_may_come_in_a_header(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(postback(), token=None, X_Webhook_Token=SECRET)
    assert response.status_code == 200, response.content


def test_without_a_configured_secret_every_postback_is_refused(settings):
    settings.TRIBOPAY_WEBHOOK_SECRET = ""
    assert post(postback(), token="").status_code == 403
    assert post(postback(), token="anything").status_code == 403
    assert WebhookEvent.objects.count() == 0


def test_the_secret_is_compared_in_constant_time():
    with mock.patch("webhooks.tribopay.hmac.compare_digest", return_value=False) as compare:
        assert post(postback(), token=SECRET).status_code == 403
    compare.assert_called_once_with(SECRET.encode(), SECRET.encode())


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ("{not json", ["non_field_errors"]),
        (b"\xff\xfe", ["non_field_errors"]),
        ("[1, 2]", ["non_field_errors"]),
        ({"payment_status": "waiting_payment"}, ["id"]),
        ({"id": "pay_1"}, ["payment_status"]),
        ({"id": "", "payment_status": ""}, ["id", "payment_status"]),
        ({"id": "x" * 101, "payment_status": "paid"}, ["id"]),
        (postback(amount=50.5), ["amount"]),
        (postback(amount=-1), ["amount"]),
        (postback(amount="R$ 50"), ["amount"]),
        (postback(customer="Maria"), ["customer"]),
    ],
)
def test_a_malformed_postback_is_400_naming_the_fields_and_stores_nothing(body, fields):
    response = post(body)
    assert response.status_code == 400, response.content
    assert sorted(response.json()) == sorted(fields)
    assert WebhookEvent.objects.count() == 0


def test_only_post_is_allowed():
    assert Client().get(f"/api/webhooks/tribopay/?token={SECRET}").status_code == 405


def test_the_raw_payload_is_stored_and_processing_is_handed_to_celery(django_capture_on_commit_callbacks):
    payload = postback(extra_field={"kept": True})
    with mock.patch("webhooks.tasks.process_event_task.apply_async") as publish:
        with django_capture_on_commit_callbacks(execute=True):
            response = post(payload)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert response.json() == {"received": True, "duplicate": False, "event_id": event.pk}
    assert event.payload == payload
    assert (event.tribopay_id, event.status, event.method) == ("pay_1", "waiting_payment", "pix")
    assert event.processed_at is None and event.outcome == ""  # nothing done in the request
    publish.assert_called_once_with((event.pk,), retry=False)


def test_a_retried_postback_is_a_duplicate_and_schedules_no_second_sms(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = post(postback())
        again = post(postback(amount=9999))  # same payment and status: a retry, whatever the body says
    assert first.status_code == again.status_code == 200
    assert again.json() == {"received": True, "duplicate": True, "event_id": first.json()["event_id"]}
    assert WebhookEvent.objects.count() == 1
    assert Message.objects.filter(source_type="payment").count() == 1


def test_the_same_payment_with_a_new_status_is_not_a_duplicate(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(postback(status="waiting_payment"))
        response = post(postback(status="paid"))
    assert response.json()["duplicate"] is False
    assert WebhookEvent.objects.count() == 2 and Payment.objects.count() == 1


def test_tribopays_nested_live_shape_is_understood(django_capture_on_commit_callbacks):
    live = {
        "status": "waiting_payment", "method": "pix", "event": "transaction",
        "transaction": {"id": "trx_9", "amount": 8990, "pix_url": "https://pay.tribopay.com.br/pix/trx_9"},
        "customer": {"name": "Pedro Santos", "phone": "+5511912345678"},
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert post(live).status_code == 200
    payment = Payment.objects.get(tribopay_id="trx_9")
    assert (payment.amount_cents, payment.customer_phone) == (8990, "+5511912345678")
    message = payment.recovery_message
    assert message.status == "scheduled"
    assert "R$ 89,90" in message.body and "https://pay.tribopay.com.br/pix/trx_9" in message.body


@pytest.mark.parametrize(
    ("method", "status"),
    [("credit_card", "waiting_payment"), ("billet", "waiting_payment"), ("pix", "paid"), ("pix", "refused"),
     ("pix", "cancelled")],
)
def test_non_pix_or_other_statuses_are_recorded_without_sms(method, status, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(postback(method=method, status=status)).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.processed_at is not None and event.outcome == "recorded"
    assert event.payment.status == status
    assert Message.objects.count() == 0


def test_with_the_broker_down_the_postback_is_processed_in_the_request(django_capture_on_commit_callbacks):
    with mock.patch("webhooks.tasks.process_event_task.apply_async", side_effect=ConnectionError("broker down")):
        with django_capture_on_commit_callbacks(execute=True):
            response = post(postback())
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.outcome == "recovery_scheduled" and event.attempts == 1


def test_a_postback_whose_task_was_lost_is_processed_by_the_sweeper(django_capture_on_commit_callbacks):
    with mock.patch("webhooks.tasks.process_event_task.apply_async"):  # published, then lost with its worker
        with django_capture_on_commit_callbacks(execute=True):
            response = post(postback())
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.processed_at is None
    assert process_stale_events_task() == 0  # too fresh: its task may still be on its way
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=event.received_at - timedelta(minutes=1))
    assert process_stale_events_task() == 1
    event.refresh_from_db()
    assert event.outcome == "recovery_scheduled" and event.attempts == 1
    assert process_stale_events_task() == 0


def test_a_failing_event_is_retried_a_few_times_then_left_with_its_error(django_capture_on_commit_callbacks):
    with mock.patch("webhooks.services._on_waiting", side_effect=RuntimeError("bug")):
        with django_capture_on_commit_callbacks(execute=True):
            assert post(postback()).status_code == 200  # TriboPay's postback is safe regardless
        event = WebhookEvent.objects.get()
        for _ in range(10):
            WebhookEvent.objects.update(received_at=event.received_at - timedelta(minutes=1))
            process_stale_events_task()
    event.refresh_from_db()
    assert event.processed_at is None and event.attempts == 5
    assert event.detail == "error: RuntimeError: bug"
    assert Payment.objects.count() == 0 and Message.objects.count() == 0  # the failed attempts left nothing


def test_an_oversized_postback_is_413_and_stores_nothing(settings):
    response = post(postback(padding="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)))
    assert response.status_code == 413
    assert WebhookEvent.objects.count() == 0
