"""Standing gate: no value in any place of a TriboPay postback gets a 5xx, changes anything when refused, or is
accepted and then cannot be processed.

Each case puts one hostile JSON value (written as raw JSON text, so that NaN, 1e400 and unpaired surrogate escapes
reach the server as a client would send them) in one place of an otherwise valid postback.
"""

import json

import pytest

from smsgate.models import Message
from tests.tribopay_support import SECRET, post, postback, processing
from webhooks.models import Payment, WebhookEvent

pytestmark = pytest.mark.django_db

MARK = "__hostile__"
HOSTILE_VALUES = {
    "nul": '"\\u0000"',
    "nul inside": '"Maria\\u0000Silva"',
    "unpaired high surrogate": '"\\ud800"',
    "unpaired low surrogate": '"x\\udfff"',
    "list nested 1000 deep": "[" * 1000 + "]" * 1000,
    "object nested 100 deep": '{"a": ' * 100 + "1" + "}" * 100,
    "empty list": "[]",
    "object": '{"a": 1}',
    "true": "true",
    "null": "null",
    "empty string": '""',
    "fraction": "50.5",
    "negative": "-1",
    "10**30": "1" + "0" * 30,
    "2**63": str(2**63),
    "5000 digits": "9" * 5000,
    "NaN": "NaN",
    "1e400": "1e400",
    "-Infinity": "-Infinity",
    "overlong string": '"' + "x" * 100_000 + '"',
    "superscript digit": '"\\u00b2"',
    "impossible date": '"9999-99-99T99:99:99Z"',
    "year zero": '"0000-01-01T00:00:00Z"',
}
PLACES = {
    "id": postback(MARK),
    "payment_status": postback(status=MARK),
    "payment_method": postback(method=MARK),
    "amount": postback(amount=MARK),
    "created_at": postback(created_at=MARK),
    "customer": postback(customer=MARK),
    "customer.name": postback(customer={"name": MARK, "phone_number": "+5511987654321"}),
    "customer.phone_number": postback(customer={"name": "Ana", "phone_number": MARK}),
    "customer.email": postback(customer={"phone_number": "+5511987654321", "email": MARK}),
    "payment_link": postback(payment_link=MARK),
    "transaction (live shape)": {"status": "waiting_payment", "method": "pix", "transaction": MARK},
    "transaction.amount": {"status": "waiting_payment", "method": "pix", "transaction": {"id": "t1", "amount": MARK},
                           "customer": {"phone": "+5511987654321"}},
    "an unknown field": postback(extra=MARK),
    "a list item": postback(items=[1, MARK]),
}
HOSTILE_KEYS = {"NUL in a key": '"na\\u0000me"', "unpaired surrogate in a key": '"\\udc00"'}


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.TRIBOPAY_WEBHOOK_SECRET = SECRET


def body_with(template: dict, raw_value: str) -> str:
    return json.dumps(template).replace(f'"{MARK}"', raw_value)


def assert_refused_cleanly_or_processed(body: str) -> None:
    """400 and nothing stored, or 200 and the event processed to an outcome other than `failed`."""
    with processing():
        response = post(body)
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    if response.status_code == 400:
        assert response.json(), "a refusal names what is wrong"
        assert WebhookEvent.objects.count() == Payment.objects.count() == Message.objects.count() == 0
        return
    event = WebhookEvent.objects.get()
    assert event.processed_at is not None and event.outcome not in ("", "failed"), (event.outcome, event.detail)


@pytest.mark.parametrize("value", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
@pytest.mark.parametrize("place", PLACES.values(), ids=PLACES.keys())
def test_a_hostile_value_anywhere_is_refused_with_400_or_processed(place, value):
    assert_refused_cleanly_or_processed(body_with(place, value))


@pytest.mark.parametrize("key", HOSTILE_KEYS.values(), ids=HOSTILE_KEYS.keys())
def test_a_hostile_field_name_is_refused_and_named(key):
    body = json.dumps(postback(customer={"phone_number": "+5511987654321", MARK: "Ana"})).replace(f'"{MARK}"', key)
    response = post(body)
    assert response.status_code == 400
    assert [name.startswith("customer.") for name in response.json()] == [True]
    assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize("value", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
def test_a_hostile_body_is_refused_with_400_or_processed(value):
    assert_refused_cleanly_or_processed(value)


@pytest.mark.parametrize("status", ["waiting_payment", "paid"])
def test_the_largest_storable_amount_is_accepted_and_processed(status):
    with processing():
        assert post(postback(status=status, amount=2**63 - 1)).status_code == 200
    assert Payment.objects.get().amount_cents == 2**63 - 1
    assert WebhookEvent.objects.get().outcome not in ("", "failed")
