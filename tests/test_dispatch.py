"""Dispatch: claiming, failover, retries with backoff, the sweeper."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from providers.base import PermanentProviderError, RecipientOptedOut, TransientProviderError
from providers.memory import MemoryProvider
from smsgate.models import Message, OptOut
from smsgate.sending import dispatch
from smsgate.sending.routing import retry_delay
from smsgate.sending.tasks import sweep_due_messages_task
from tests.sending import submit_one

pytestmark = pytest.mark.django_db


def submit(tenant, **kwargs) -> Message:
    """Persist a message without dispatching it (as if the enqueue was lost)."""
    return submit_one(tenant=tenant, to=kwargs.pop("to", "+5511987654321"), body=kwargs.pop("body", "hello"),
                    **kwargs)


def test_a_lost_enqueue_is_picked_up_by_the_sweeper(tenant):
    message = submit(tenant)  # on_commit never ran: no task was enqueued
    assert message.status == "queued"
    assert sweep_due_messages_task() == 1
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 1
    assert len(MemoryProvider.outbox) == 1


def test_a_scheduled_message_waits_for_its_time(tenant):
    message = submit(tenant, send_at=timezone.now() + timedelta(minutes=10))
    assert sweep_due_messages_task() == 0
    Message.objects.filter(pk=message.pk).update(due_at=timezone.now() - timedelta(seconds=1))
    assert sweep_due_messages_task() == 1
    message.refresh_from_db()
    assert message.status == "sent"


def test_a_message_is_claimed_only_once(tenant):
    message = submit(tenant)
    assert dispatch.claim_one(message.pk) is not None
    assert dispatch.claim_one(message.pk) is None
    assert dispatch.claim_due(10)[1] == []


def test_a_stale_claim_is_reclaimed_and_the_old_holder_cannot_record(tenant, settings):
    message = submit(tenant)
    old_token = dispatch.claim_one(message.pk)
    Message.objects.filter(pk=message.pk).update(claimed_at=timezone.now() - timedelta(minutes=10))
    new_token, ids = dispatch.claim_due(10)
    assert ids == [message.pk]
    dispatch.deliver([message.pk], old_token)  # the dead worker's task finally runs
    assert MemoryProvider.outbox == []
    dispatch.deliver([message.pk], new_token)
    assert len(MemoryProvider.outbox) == 1


def test_a_transient_failure_fails_over_to_the_next_provider(tenant, settings):
    settings.SMS_PRIMARY_PROVIDER = "memory"
    settings.SMS_FALLBACK_PROVIDERS = ["console"]
    MemoryProvider.fail_next(TransientProviderError("503 from carrier", code=503))
    message = submit(tenant)
    sweep_due_messages_task()
    message.refresh_from_db()
    assert message.status == "delivered" and message.provider == "console"  # its simulated receipt
    attempts = list(message.events.filter(kind="attempt").values_list("provider", "ok"))
    assert attempts == [("memory", False), ("console", True)]


def test_a_permanent_failure_does_not_fail_over(tenant, settings):
    settings.SMS_FALLBACK_PROVIDERS = ["console"]
    MemoryProvider.fail_next(PermanentProviderError("invalid number", code=21211))
    message = submit(tenant)
    sweep_due_messages_task()
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.error_code == "21211"
    assert message.events.filter(kind="attempt").count() == 1


def test_an_unsubscribed_recipient_is_added_to_the_opt_out_list(tenant):
    MemoryProvider.fail_next(RecipientOptedOut("unsubscribed", code=21610))
    message = submit(tenant)
    sweep_due_messages_task()
    assert OptOut.objects.filter(tenant=tenant, phone=message.to, source="carrier").exists()


def test_when_every_provider_fails_it_retries_later_with_backoff(tenant, settings):
    settings.SMS_RETRY_BASE_SECONDS = 30
    MemoryProvider.fail_next(TransientProviderError("timeout"))
    message = submit(tenant)
    before = timezone.now()
    sweep_due_messages_task()
    after = timezone.now()
    message.refresh_from_db()
    assert message.status == "queued" and message.attempts == 1
    assert before + timedelta(seconds=15) <= message.due_at <= after + timedelta(seconds=30)
    assert sweep_due_messages_task() == 0  # not due yet
    Message.objects.filter(pk=message.pk).update(due_at=timezone.now())
    sweep_due_messages_task()
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 2


def test_retries_are_bounded(tenant, settings):
    settings.SMS_MAX_ATTEMPTS = 3
    MemoryProvider.fail_next(*[TransientProviderError("timeout")] * 3)
    message = submit(tenant)
    for _ in range(3):
        Message.objects.filter(pk=message.pk).update(due_at=timezone.now())
        sweep_due_messages_task()
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == 3
    assert "3 times" in message.status_reason


def test_backoff_grows_exponentially_with_jitter_and_a_cap(settings):
    settings.SMS_RETRY_BASE_SECONDS = 10
    settings.SMS_RETRY_MAX_SECONDS = 100
    delays = {attempt: [retry_delay(attempt) for _ in range(200)] for attempt in (1, 2, 3, 8)}
    assert all(5 <= d <= 10 for d in delays[1])
    assert all(10 <= d <= 20 for d in delays[2])
    assert all(20 <= d <= 40 for d in delays[3])
    assert all(50 <= d <= 100 for d in delays[8])
    assert len(set(delays[3])) > 100  # jittered, not fixed


def test_a_crashing_backend_does_not_strand_the_message(tenant, settings):
    MemoryProvider.fail_next(ZeroDivisionError("bug"))
    message = submit(tenant)
    sweep_due_messages_task()
    message.refresh_from_db()
    assert message.status == "queued" and message.attempts == 1
    assert "ZeroDivisionError" in message.error_message


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED needs Postgres")
def test_concurrent_sweepers_never_claim_the_same_message(tenant):
    for _ in range(200):
        submit(tenant, send_at=timezone.now() + timedelta(hours=1))  # scheduled: not dispatched on commit
    Message.objects.update(due_at=timezone.now())
    claimed: list[list[int]] = []
    barrier = threading.Barrier(4)

    def sweeper():
        barrier.wait()
        for _ in range(10):
            claimed.append(dispatch.claim_due(15)[1])
        connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    all_ids = [pk for batch in claimed for pk in batch]
    assert len(all_ids) == len(set(all_ids)) == 200


def test_stale_claims_do_not_fill_the_in_flight_cap(tenant, settings, monkeypatch):
    settings.SMS_MAX_IN_FLIGHT = 2
    for _ in range(3):
        submit(tenant)
    Message.objects.update(status="sending", claim_token=None, claimed_at=timezone.now() - timedelta(minutes=10))
    in_flight = []
    send = MemoryProvider.send

    def counting_carrier(self, message):
        in_flight.append(Message.objects.filter(status="sending", claim_token__isnull=False).count())
        return send(self, message)

    monkeypatch.setattr(MemoryProvider, "send", counting_carrier)
    # Three lost claims, cap 2: the sweeper must still take them back, or nothing would ever be sent again.
    assert sweep_due_messages_task() == 2
    # It took all the cap allowed, so the chunk's worker swept again once done: the third followed.
    assert len(MemoryProvider.outbox) == 3
    assert max(in_flight) <= 2


def test_a_backlog_larger_than_one_sweep_is_sent_without_waiting_for_beat(tenant, settings):
    settings.SMS_SWEEP_BATCH = 4
    settings.SMS_DISPATCH_CHUNK = 2
    for _ in range(9):
        submit(tenant, send_at=timezone.now() + timedelta(hours=1))  # scheduled: not dispatched on commit
    Message.objects.update(due_at=timezone.now())
    assert sweep_due_messages_task() == 4
    assert Message.objects.filter(status="sent").count() == 9
    assert len(MemoryProvider.outbox) == 9


def test_a_receipt_that_beats_the_record_of_its_send_is_applied_once_the_send_is_recorded(tenant, monkeypatch):
    from providers.base import StatusUpdate
    from smsgate.tracking.receipts import record_delivery

    send = MemoryProvider.send

    def fast_carrier(self, message):  # the receipt arrives while the dispatcher has not written the send yet
        result = send(self, message)
        record_delivery("memory", StatusUpdate(provider_message_id=result.provider_message_id, status="delivered"))
        return result

    monkeypatch.setattr(MemoryProvider, "send", fast_carrier)
    message = submit(tenant)
    sweep_due_messages_task()
    message.refresh_from_db()
    assert message.status == "delivered"
    assert message.events.filter(kind="receipt", status="delivered").count() == 1


def test_a_send_is_recorded_exactly_and_keeps_what_its_outcome_does_not_set(tenant, monkeypatch):
    from decimal import Decimal

    from providers.base import SendResult

    def priced_carrier(self, message):
        MemoryProvider.outbox.append(message)
        return SendResult(provider_message_id="carrier-7", status="sent", segments=2, price=Decimal("0.01234"),
                          price_unit="BRL", raw={"note": "ünïcode", "nested": [1, None]})

    monkeypatch.setattr(MemoryProvider, "send", priced_carrier)
    message = submit(tenant, custom_id="ref-1")
    before = timezone.now()
    sweep_due_messages_task()
    message.refresh_from_db()
    assert (message.status, message.provider_message_id, message.segments) == ("sent", "carrier-7", 2)
    assert (message.price, message.price_unit, message.custom_id) == (Decimal("0.01234"), "BRL", "ref-1")
    assert message.claim_token is None and before <= message.sent_at <= timezone.now()
    assert message.body == "hello" and message.due_at <= message.sent_at
    attempt = message.events.get(kind="attempt")
    assert attempt.ok and attempt.raw == {"note": "ünïcode", "nested": [1, None]}
