"""The PIX recovery journey end to end: postback -> scheduled SMS -> fake Twilio, with time moved by hand."""

from datetime import timedelta

import pytest

from smsgate.models import Message, OptOut
from smsgate.optouts import add_opt_out
from smsgate.sending.tasks import sweep_due_messages_task
from templates.models import TemplateVariant
from tests.conftest import client_for
from tests.tribopay_support import PHONE, SECRET, frozen_clock, post, postback, processing
from webhooks.ingest import default_tenant
from webhooks.models import Payment, RecoverySettings, WebhookEvent
from webhooks.selectors import format_brl
from webhooks.services import process_event, receive_postback

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.TRIBOPAY_WEBHOOK_SECRET = SECRET


@pytest.fixture
def clock():
    with frozen_clock() as clock:
        yield clock


@pytest.fixture
def deliver():
    """POST a postback and run what its commit enqueues (Celery is eager in tests)."""

    def _deliver(payload):
        with processing():
            response = post(payload)
        assert response.status_code == 200, response.content
        return WebhookEvent.objects.get(pk=response.json()["event_id"])

    return _deliver


def sweep() -> int:
    return sweep_due_messages_task()


def test_a_pix_still_waiting_gets_its_recovery_sms_after_the_delay(twilio, clock, deliver, settings):
    settings.RECOVERY_DELAY_SECONDS = 600
    event = deliver(postback(payment_link="https://pay.example.com/p/1"))
    assert event.outcome == "recovery_scheduled"
    message = Message.objects.get(source_type="payment")
    assert message.status == "scheduled" and message.source_id == str(event.payment_id)
    assert message.send_at == event.received_at + timedelta(seconds=600)

    clock.advance(599)
    assert sweep() == 0 and twilio.sent == []
    clock.advance(1)
    assert sweep() == 1

    [sms] = twilio.sent
    assert sms["to"] == PHONE
    assert sms["body"] == ("Oi Maria! Seu PIX de R$ 50,00 ainda esta pendente. Finalize seu pagamento: "
                           "https://pay.example.com/p/1")
    message.refresh_from_db()
    assert message.status == "sent" and message.provider == "twilio" and message.provider_message_id == sms["sid"]


def test_paid_before_the_sms_is_due_cancels_it_and_nothing_is_sent(twilio, clock, deliver):
    deliver(postback())
    clock.advance(300)
    paid = deliver(postback(status="paid"))
    assert paid.outcome == "recovery_cancelled"
    message = Message.objects.get(source_type="payment")
    assert message.status == "cancelled"
    assert message.status_reason == "payment paid before the recovery SMS was due"

    clock.advance(3600)
    assert sweep() == 0
    assert twilio.sent == []
    payment = Payment.objects.get()
    assert payment.status == "paid" and payment.recovered_at is None


@pytest.mark.parametrize("status", ["cancelled", "refused", "expired"])
def test_any_later_status_cancels_the_pending_recovery(twilio, clock, deliver, status):
    deliver(postback())
    assert deliver(postback(status=status)).outcome == "recovery_cancelled"
    clock.advance(3600)
    sweep()
    assert twilio.sent == []
    assert Message.objects.get().status_reason == f"payment {status} before the recovery SMS was due"


def test_paid_after_the_sms_counts_as_recovered_revenue(twilio, clock, deliver):
    deliver(postback(amount=123456))
    clock.advance(600)
    sweep()
    assert len(twilio.sent) == 1
    clock.advance(120)
    paid = deliver(postback(status="paid", amount=123456))
    assert paid.outcome == "recovered"
    payment = Payment.objects.get()
    assert payment.recovered_at == paid.received_at and payment.recovered_amount_cents == 123456

    stats = client_for(default_tenant()).get("/api/webhooks/stats/")
    assert stats.status_code == 200
    assert stats.json() == {
        "waiting": 1, "sms_scheduled": 1, "sms_cancelled": 0, "sms_sent": 1, "paid": 1, "recovered": 1,
        "recovered_revenue_cents": 123456, "recovered_revenue": "R$ 1.234,56",
    }


def test_paid_without_a_recovery_sms_is_not_recovered_revenue(twilio, deliver):
    deliver(postback(status="paid"))
    assert Payment.objects.get().recovered_at is None


def test_a_late_waiting_postback_after_paid_schedules_nothing(twilio, clock, deliver):
    deliver(postback(status="paid"))
    late = deliver(postback(status="waiting_payment"))
    assert late.outcome == "recorded" and "already paid" in late.detail
    clock.advance(3600)
    sweep()
    assert Message.objects.count() == 0 and twilio.sent == []
    assert Payment.objects.get().status == "paid"


def test_paid_stored_but_not_yet_processed_stops_the_waiting_postback_from_scheduling(twilio, clock):
    waiting, _ = receive_postback(payload=postback())  # both stored; the workers take them in the wrong order
    paid, _ = receive_postback(payload=postback(status="paid"))
    process_event(waiting)
    process_event(paid)
    assert Message.objects.count() == 0
    waiting = WebhookEvent.objects.get(pk=waiting)
    assert waiting.outcome == "recorded" and "already paid" in waiting.detail
    assert Payment.objects.get().status == "paid"


def test_a_postback_processed_twice_schedules_one_sms(deliver):
    event = deliver(postback())
    WebhookEvent.objects.filter(pk=event.pk).update(processed_at=None)
    process_event(event.pk)
    assert Message.objects.filter(source_type="payment").count() == 1


def test_an_opted_out_customer_gets_a_cancelled_message_with_its_reason(twilio, clock, deliver):
    add_opt_out(tenant=default_tenant(), phone=PHONE, source="keyword", keyword="STOP")
    event = deliver(postback())
    assert event.outcome == "not_sent" and "refused by policy" in event.detail
    assert Message.objects.get().status == "cancelled"
    clock.advance(3600)
    sweep()
    assert twilio.sent == [] and OptOut.objects.count() == 1


@pytest.mark.parametrize(("customer", "detail"), [
    ({"name": "Sem Telefone"}, "no customer phone number"),
    ({"name": "X", "phone_number": "12"}, "valid phone number"),
])
def test_a_waiting_pix_without_a_usable_phone_is_recorded_as_not_sent(deliver, customer, detail):
    event = deliver(postback(customer=customer))
    assert event.outcome == "not_sent" and detail in event.detail
    assert Message.objects.count() == 0


def recovery_variant(**fields) -> None:
    TemplateVariant.objects.filter(template__tenant=default_tenant(), template__code="recovery-pix").update(**fields)


def test_the_tenants_own_template_and_fallback_link_are_used(twilio, clock, deliver):
    recovery_variant(body="{name}, faltam {amount}: {payment_link} {{nao e placeholder}}")
    RecoverySettings.objects.create(tenant=default_tenant(), fallback_link="https://loja.example.com/checkout")
    deliver(postback(amount=199))
    clock.advance(600)
    sweep()
    [sms] = twilio.sent
    assert sms["body"] == "Maria Silva, faltam R$ 1,99: https://loja.example.com/checkout {nao e placeholder}"


def test_an_invalid_template_saved_behind_the_admins_back_falls_back_to_the_default(twilio, clock, deliver):
    recovery_variant(body="{name.__init__.__globals__}")
    deliver(postback())
    assert Message.objects.get().body.startswith("Oi Maria! Seu PIX de R$ 50,00")


@pytest.mark.parametrize(("cents", "text"), [
    (0, "R$ 0,00"), (5, "R$ 0,05"), (5000, "R$ 50,00"), (123456, "R$ 1.234,56"), (100000000, "R$ 1.000.000,00"),
    (None, "R$ 0,00"),
])
def test_amounts_are_formatted_in_brl(cents, text):
    assert format_brl(cents) == text
