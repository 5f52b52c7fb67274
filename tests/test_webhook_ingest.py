"""Group commit of TriboPay postbacks (webhooks.ingest): concurrent requests share writes, and none is lost."""

import threading
import time

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from smsgate.models import Tenant
from tests.chaos.harness import wait_until
from tests.tribopay_support import SECRET, post, postback
from webhooks import ingest
from webhooks.models import WebhookEvent
from webhooks.services import receive_postback
from webhooks.tribopay import parse_postback

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the batch INSERT is Postgres SQL")


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.TRIBOPAY_WEBHOOK_SECRET = SECRET


class Writes(list):
    """The sizes of the batches written. With `queue_behind_the_first = n`, the first write waits until n
    entries (its own batch included) are written or waiting, as requests pile up behind a write under load,
    however slowly the test's threads arrive."""

    queue_behind_the_first = 0


@pytest.fixture
def writes(monkeypatch, transactional_db):
    """The batches written, each slowed down so that requests pile up behind it as under load."""
    batches = Writes()
    real_insert = ingest._insert
    # Waiting requests give up after WAIT_SECONDS; a busy machine may take longer to start them all.
    monkeypatch.setattr(ingest, "WAIT_SECONDS", 300)

    def slow_insert(batch):
        if not batches and batches.queue_behind_the_first:
            wait_until(lambda: len(batch) + len(ingest.group_commit._pending) >= batches.queue_behind_the_first,
                       timeout=120, every=0.01)
        batches.append(len(batch))
        time.sleep(0.05)
        real_insert(batch)

    monkeypatch.setattr(ingest, "_insert", slow_insert)
    return batches


def post_together(payloads: list[dict]) -> list:
    responses = [None] * len(payloads)

    def send(index):
        try:
            responses[index] = post(payloads[index], client=Client(raise_request_exception=False))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


@pytest.mark.django_db(transaction=True)
def test_concurrent_postbacks_share_writes_and_each_gets_its_own_event(writes):
    writes.queue_behind_the_first = 20
    payloads = [postback(f"pay_{n}") for n in range(20)]
    responses = post_together(payloads)
    assert [r.status_code for r in responses] == [200] * 20
    stored = dict(WebhookEvent.objects.values_list("pk", "tribopay_id"))
    assert {stored[r.json()["event_id"]] for r in responses} == {p["id"] for p in payloads}
    # Those that waited behind the first write were written together, in one more.
    assert sum(writes) == 20 and len(writes) <= 2, writes


@pytest.mark.django_db(transaction=True)
def test_a_retry_in_the_same_batch_is_a_duplicate_of_the_first(writes):
    writes.queue_behind_the_first = 6
    responses = post_together([postback("pay_1")] * 5 + [postback("pay_2")])
    answers = [r.json() for r in responses]
    assert sorted(a["duplicate"] for a in answers) == [False, False, True, True, True, True]
    assert len({a["event_id"] for a in answers[:5]}) == 1
    assert WebhookEvent.objects.count() == 2
    assert len(writes) <= 2, writes  # the retries waited behind the first write and shared the next


@pytest.mark.django_db(transaction=True)
def test_a_failed_write_answers_no_request_200_and_the_next_requests_are_written(monkeypatch):
    real_insert = ingest._insert

    def failing_insert(batch):
        time.sleep(0.05)
        raise OperationalError("the database went away")

    monkeypatch.setattr(ingest, "_insert", failing_insert)
    responses = post_together([postback(f"pay_{n}") for n in range(6)])
    assert [r.status_code for r in responses] == [500] * 6  # TriboPay sends them again
    assert WebhookEvent.objects.count() == 0

    monkeypatch.setattr(ingest, "_insert", real_insert)
    assert post(postback("pay_again")).status_code == 200  # nobody is left holding the write


@pytest.mark.django_db
def test_a_deleted_default_tenant_is_recreated_and_the_postback_stored():
    Tenant.objects.filter(slug=Tenant.DEFAULT_SLUG).delete()
    response = post(postback())
    assert response.status_code == 200, response.content
    assert WebhookEvent.objects.get().tenant.slug == Tenant.DEFAULT_SLUG


@pytest.mark.django_db
def test_a_batch_stores_new_postbacks_and_finds_duplicates():
    stored_before, _ = receive_postback(payload=postback("pay_old"))
    entries = [ingest._Entry(parse_postback(p), p, "203.0.113.7", timezone.now())
               for p in (postback("pay_new"), postback("pay_old"), postback("pay_new"), postback("pay_new", "paid"))]
    ingest._insert_in_one_statement(entries)
    assert [e.duplicate for e in entries] == [False, True, True, False]
    assert entries[1].event_id == stored_before and entries[2].event_id == entries[0].event_id
    event = WebhookEvent.objects.get(pk=entries[0].event_id)
    assert (event.tribopay_id, event.status, event.tenant.slug) == ("pay_new", "waiting_payment", Tenant.DEFAULT_SLUG)
    assert event.payload == postback("pay_new") and event.source_ip == "203.0.113.7"
    assert WebhookEvent.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_hostile_postbacks_among_concurrent_ones_are_400_and_every_valid_one_is_stored(writes):
    hostile = {n for n in range(0, 60, 6)}  # 10 of 60 carry NUL, each in a different place
    payloads = [postback(f"pay_{n}", customer={"name": "Ana\u0000"}) if n % 12 == 0
                else postback(f"pay_{n}", note="\u0000") if n in hostile else postback(f"pay_{n}")
                for n in range(60)]
    responses = post_together(payloads)
    assert [r.status_code for r in responses] == [400 if n in hostile else 200 for n in range(60)]
    stored = set(WebhookEvent.objects.values_list("tribopay_id", flat=True))
    assert stored == {f"pay_{n}" for n in range(60) if n not in hostile}


@pytest.mark.django_db(transaction=True)
def test_a_row_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_stored(monkeypatch):
    """Should a value slip past validation, the batch is written again in parts: only its row is refused."""
    refused = {3, 11}
    payloads = [postback(f"pay_{n}", note="\u0000" if n in refused else "ok") for n in range(16)]
    batches = []
    real_insert = ingest._insert

    def insert_once_all_wait(batch):  # the first write waits for the others to queue: they share the next one
        if not batches:
            wait_until(lambda: len(batch) + len(ingest.group_commit._pending) >= len(payloads), timeout=120,
                       every=0.01)
        batches.append({entry.payload["id"] for entry in batch})
        real_insert(batch)

    monkeypatch.setattr(ingest, "_insert", insert_once_all_wait)
    monkeypatch.setattr(ingest, "WAIT_SECONDS", 300)  # those queued wait for the first write, however slow
    outcomes = [None] * len(payloads)

    def store(index):  # straight to the group commit, past the validation a request gets
        try:
            outcomes[index] = ingest.group_commit.store(parse_postback(postback(f"pay_{index}")), payloads[index])
        except Exception as exc:
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=store, args=(n,)) for n in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert any(len(batch) > 1 and batch & {f"pay_{n}" for n in refused} for batch in batches)
    assert [type(o).__name__ for o in outcomes] == [
        "MalformedPostback" if n in refused else "tuple" for n in range(16)]
    stored = dict(WebhookEvent.objects.values_list("tribopay_id", "pk"))
    assert set(stored) == {f"pay_{n}" for n in range(16) if n not in refused}
    assert all(outcomes[n] == (stored[f"pay_{n}"], False) for n in range(16) if n not in refused)
