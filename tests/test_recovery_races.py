"""Races: retried postbacks arriving together, paid and waiting applied at once, paid while the SMS is in flight."""

import threading

import pytest
from django.db import connection

from smsgate.models import Message
from smsgate.sending import dispatch
from tests.tribopay_support import SECRET, frozen_clock, post, postback, processing
from webhooks.ingest import default_tenant
from webhooks.models import Payment, WebhookEvent
from webhooks.services import process_event, receive_postback
from webhooks.tasks import dispatch_events_task

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need Postgres")


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.TRIBOPAY_WEBHOOK_SECRET = SECRET


def run_together(*targets) -> None:
    barrier = threading.Barrier(len(targets))

    def run(target):
        barrier.wait()
        try:
            target()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.django_db(transaction=True)
def test_the_same_postback_posted_at_once_is_stored_and_scheduled_once():
    answers = []
    run_together(*[lambda: answers.append(post(postback()).json()) for _ in range(6)])
    assert sorted(a["duplicate"] for a in answers) == [False] + [True] * 5
    assert len({a["event_id"] for a in answers}) == 1
    assert WebhookEvent.objects.count() == 1
    dispatch_events_task()
    assert Message.objects.filter(source_type="payment").count() == 1


@pytest.mark.django_db(transaction=True)
def test_waiting_and_paid_applied_at_once_never_leave_a_pending_sms():
    tenant = default_tenant()
    for n in range(15):
        # Known already, so creating the row does not serialise the two (only the row lock does).
        Payment.objects.create(tenant=tenant, tribopay_id=f"pay_{n}")
        waiting, _ = receive_postback(payload=postback(f"pay_{n}"))  # stored only; the threads below process them
        paid, _ = receive_postback(payload=postback(f"pay_{n}", status="paid"))
        run_together(lambda w=waiting: process_event(w), lambda p=paid: process_event(p))
    assert Payment.objects.filter(status="paid").count() == 15
    assert not Message.objects.filter(status__in=["scheduled", "queued"]).exists()
    assert WebhookEvent.objects.filter(processed_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_paid_while_the_sms_is_being_sent_lets_it_go_and_is_not_counted_as_recovered(
    twilio
):
    with frozen_clock() as clock:
        with processing():
            post(postback())
        message = Message.objects.get()
        clock.advance(600)
        token = dispatch.claim_one(message.pk)  # the dispatcher has it: too late to cancel
        assert token is not None
        with processing():
            post(postback(status="paid"))
        dispatch.deliver([message.pk], token)
    message.refresh_from_db()
    assert message.status == "sent" and len(twilio.sent) == 1
    paid = WebhookEvent.objects.get(status="paid")
    assert paid.outcome == "recorded" and "is sending" in paid.detail
    assert Payment.objects.get().recovered_at is None
