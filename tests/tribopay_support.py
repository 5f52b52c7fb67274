"""Helpers for the TriboPay and recovery tests: postbacks, posting them, processing them, a clock we move by hand."""

import contextlib
import json
from datetime import timedelta
from unittest import mock

from django.test import Client
from django.utils import timezone

URL = "/api/webhooks/tribopay/"
SECRET = "tribopay-test-secret"
PHONE = "+5511987654321"


def postback(payment_id: str = "pay_1", status: str = "waiting_payment", method: str = "pix", **extra) -> dict:
    """A postback in the documented (flat) shape."""
    payload = {
        "id": payment_id,
        "payment_method": method,
        "payment_status": status,
        "amount": 5000,
        "created_at": "2026-11-22T10:00:00Z",
        "customer": {"phone_number": PHONE, "name": "Maria Silva", "email": "maria@example.com"},
    }
    payload.update(extra)
    return payload


def post(payload, token: str | None = SECRET, client: Client | None = None, **headers):
    """POST a postback like TriboPay does (token in the query string unless None)."""
    url = f"{URL}?token={token}" if token is not None else URL
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return (client or Client()).post(url, data=body, content_type="application/json", headers=headers)


@contextlib.contextmanager
def processing():
    """After the block, do what beat does every 2 s: hand stored postbacks to the (eager, in tests) workers."""
    yield
    from webhooks.tasks import dispatch_events_task

    dispatch_events_task()


class Clock:
    """timezone.now() frozen at a moment the test moves forward."""

    def __init__(self):
        self.now = timezone.now()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@contextlib.contextmanager
def frozen_clock():
    clock = Clock()
    with mock.patch("django.utils.timezone.now", lambda: clock.now):
        yield clock
