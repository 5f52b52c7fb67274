"""POST /api/webhooks/tribopay/: authentication, validation, raw storage, dedupe; beat's hand-off to the workers."""

from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from smsgate.models import Message
from tests.tribopay_support import SECRET, post, postback, processing
from webhooks.ingest import default_tenant
from webhooks.models import Payment, WebhookEvent
from webhooks.services import MAX_ATTEMPTS, RETRY_AFTER, dispatch_events
from webhooks.tasks import dispatch_events_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.TRIBOPAY_WEBHOOK_SECRET = SECRET


@pytest.mark.parametrize("token", [None, "", "wrong", SECRET + "x", SECRET[:-1]])
def test_a_forged_postback_is_403_and_stores_nothing(token):
    response = post(postback(), token=token)
    assert response.status_code == 403
    assert WebhookEvent.objects.count() == 0 and Payment.objects.count() == 0


def test_the_token_may_come_in_a_header():
    with processing():
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
        (postback(amount=10**30), ["amount"]),  # more than the bigint column holds: once accepted, then stuck
        (postback(amount=2**63), ["amount"]),
        (postback(amount="²"), ["amount"]),  # a digit to str.isdigit(), not to int()
        (postback(customer={"name": "Maria\u0000"}), ["customer.name"]),
        (postback(extra={"note\u0000": "x"}), ["extra.note\\u0000"]),
        (postback(status="\ud800"), ["payment_status"]),
        (postback(score=float("inf")), ["score"]),
        ("[" * 1000 + "]" * 1000, ["non_field_errors"]),
        ('{"id": "pay_1", "payment_status": "paid", "x": ' + "[" * 40 + "]" * 40 + "}", ["non_field_errors"]),
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


def test_the_raw_payload_is_stored_and_left_for_the_workers():
    payload = postback(extra_field={"kept": True})
    response = post(payload)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert response.json() == {"received": True, "duplicate": False, "event_id": event.pk}
    assert event.payload == payload
    assert (event.tribopay_id, event.status, event.method) == ("pay_1", "waiting_payment", "pix")
    assert event.processed_at is None and event.outcome == ""  # nothing done in the request


def test_beat_hands_new_postbacks_to_the_workers_in_batches():
    for n in range(5):
        post(postback(f"pay_{n}"))
    with mock.patch("webhooks.tasks.process_events_task.delay") as publish:
        assert dispatch_events(per_task=2) == 5
    first, second, third = (call.args[0] for call in publish.call_args_list)
    ids = list(WebhookEvent.objects.order_by("received_at", "pk").values_list("pk", flat=True))
    assert first + second + third == ids and (len(first), len(second), len(third)) == (2, 2, 1)
    assert dispatch_events() == 0  # claimed: their tasks are on their way


def test_a_retried_postback_is_a_duplicate_and_schedules_no_second_sms():
    with processing():
        first = post(postback())
        again = post(postback(amount=9999))  # same payment and status: a retry, whatever the body says
    assert first.status_code == again.status_code == 200
    assert again.json() == {"received": True, "duplicate": True, "event_id": first.json()["event_id"]}
    assert WebhookEvent.objects.count() == 1
    assert Message.objects.filter(source_type="payment").count() == 1


def test_the_same_payment_with_a_new_status_is_not_a_duplicate():
    with processing():
        post(postback(status="waiting_payment"))
        response = post(postback(status="paid"))
    assert response.json()["duplicate"] is False
    assert WebhookEvent.objects.count() == 2 and Payment.objects.count() == 1


def test_tribopays_nested_live_shape_is_understood():
    live = {
        "status": "waiting_payment", "method": "pix", "event": "transaction",
        "transaction": {"id": "trx_9", "amount": 8990, "pix_url": "https://pay.tribopay.com.br/pix/trx_9"},
        "customer": {"name": "Pedro Santos", "phone": "+5511912345678"},
    }
    with processing():
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
def test_non_pix_or_other_statuses_are_recorded_without_sms(method, status):
    with processing():
        assert post(postback(method=method, status=status)).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.processed_at is not None and event.outcome == "recorded"
    assert event.payment.status == status
    assert Message.objects.count() == 0


def test_a_postback_whose_task_was_lost_is_claimed_again_after_a_while():
    post(postback())
    with mock.patch("webhooks.tasks.process_events_task.delay"):  # published, then lost with its worker
        assert dispatch_events_task() == 1
    event = WebhookEvent.objects.get()
    assert event.processed_at is None
    assert dispatch_events_task() == 0  # too soon: its task may still be on its way
    WebhookEvent.objects.update(claimed_at=event.claimed_at - RETRY_AFTER)
    assert dispatch_events_task() == 1
    event.refresh_from_db()
    assert event.outcome == "recovery_scheduled" and event.attempts == 2
    assert dispatch_events_task() == 0


def test_a_failing_event_is_retried_a_few_times_then_ends_failed_with_its_error():
    with mock.patch("webhooks.services._on_waiting", side_effect=RuntimeError("bug")):
        assert post(postback()).status_code == 200  # TriboPay's postback is safe regardless
        for attempt in range(1, 11):
            dispatch_events_task()
            event = WebhookEvent.objects.get()
            if attempt < MAX_ATTEMPTS:
                assert (event.outcome, event.processed_at) == ("", None)  # left for another attempt
            WebhookEvent.objects.update(claimed_at=timezone.now() - RETRY_AFTER)
    event = WebhookEvent.objects.get()
    assert event.attempts == MAX_ATTEMPTS
    assert event.outcome == "failed" and event.processed_at is not None  # not pending for ever
    assert event.detail == "error: RuntimeError: bug"
    assert Payment.objects.count() == 0 and Message.objects.count() == 0  # the failed attempts left nothing


def test_an_oversized_postback_is_413_and_stores_nothing(settings):
    response = post(postback(padding="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)))
    assert response.status_code == 413
    assert WebhookEvent.objects.count() == 0


def test_a_stored_event_that_no_longer_reads_as_a_postback_fails_at_once():
    """Stored before amounts were checked: 10**30 cents cannot be written to the payment, on any attempt."""
    event = WebhookEvent.objects.create(tenant=default_tenant(), tribopay_id="pay_1", status="waiting_payment",
                                        payload=postback(amount=10**30))
    dispatch_events_task()
    event.refresh_from_db()
    assert event.outcome == "failed" and event.processed_at is not None and event.attempts == 1
    assert "amount" in event.detail
    assert Payment.objects.count() == 0 and Message.objects.count() == 0


def test_a_forwarded_address_that_is_not_an_ip_is_not_stored(settings):
    """A forged X-Forwarded-For (once a 500: the batch INSERT's inet cast) gives way to the connection's address."""
    settings.TRUST_X_FORWARDED_FOR = True
    response = post(postback(), X_Forwarded_For="10.0.0.1, not-an-ip")
    assert response.status_code == 200, response.content
    assert WebhookEvent.objects.get().source_ip == "127.0.0.1"  # the test client's REMOTE_ADDR
