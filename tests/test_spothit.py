"""SpotHit wire details: form fields, long SMS, scheduling, per-recipient variables, errors, receipts."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from providers.base import PermanentProviderError, ProviderAuthError, RateLimitedError, TransientProviderError
from providers.registry import get_provider
from smsgate.models import ProviderCallback
from tests.fakes.server import Reply
from tests.sending import gateway_send, unsaved

pytestmark = pytest.mark.django_db
PHONE = "+33612345678"
RECEIPT_URL = "https://gateway.example.com/api/v1/sms/delivery/spothit?secret=spothit-receipt-secret"


def test_a_single_sms_is_the_documented_form(spothit):
    message = gateway_send(PHONE)
    [request] = spothit.requests
    assert request.form == {"key": [spothit.api_key], "type": ["premium"], "message": [message.body],
                            "expediteur": ["Programme"], "url": [RECEIPT_URL], "destinataires": ["33612345678"]}
    assert message.provider_message_id == "1337"  # the campaign id


def test_receipts_are_not_requested_without_a_secret(spothit, settings):
    settings.SPOTHIT_WEBHOOK_SECRET = ""
    gateway_send(PHONE)
    assert "url" not in spothit.requests[0].form


@pytest.mark.parametrize(("body", "parts"), [("x" * 161, 2), ("x" * 459, 3), ("é" * 160 + "ж", 3)])
def test_a_long_sms_declares_its_parts(spothit, body, parts):
    message = gateway_send(PHONE, body)
    assert message.status == "sent" and message.segments == parts
    form = spothit.requests[0].form
    assert (form["smslong"], form["smslongnbr"]) == (["1"], [str(parts)])


def test_a_scheduled_send_carries_the_unix_time(spothit):
    when = datetime(2026, 12, 24, 18, 30, tzinfo=UTC)
    get_provider("spothit").send(unsaved(PHONE), scheduled_at=when)
    assert spothit.requests[0].field("date") == str(int(when.timestamp())) == "1798137000"


def test_send_bulk_sends_one_campaign_with_per_recipient_variables(spothit):
    result = get_provider("spothit").send_bulk(
        {"+33612345678": {"prenom": "Jean"}, "+33698765432": {"prenom": "Marie-Christine" + "e" * 150}},
        "Bonjour {prenom}, votre séance est demain.",
    )
    form = spothit.requests[0].form
    assert form["destinataires_type"] == ["datas"]
    assert form["destinataires[33612345678][prenom]"] == ["Jean"]
    assert "destinataires" not in form
    assert form["smslongnbr"] == ["2"]  # the longest rendered message takes two parts
    campaign = spothit.campaigns[int(result.provider_message_id)]
    assert set(campaign["recipients"]) == {"33612345678", "33698765432"}


def test_send_bulk_refuses_a_recipient_without_variables(spothit):
    with pytest.raises(ValueError):
        get_provider("spothit").send_bulk({"+33612345678": {}}, "Bonjour")
    assert spothit.requests == []


@pytest.mark.parametrize(("codes", "error"), [
    ("13", RateLimitedError), ("15", RateLimitedError),
    ("10", TransientProviderError), ("9", TransientProviderError),
    ("21", ProviderAuthError), ("30", ProviderAuthError), ("12", ProviderAuthError),
    *[(code, PermanentProviderError) for code in ("2", "3", "4", "5", "6", "8", "16", "24", "36", "38")],
    ("10,4", PermanentProviderError),  # the message itself is bad: retrying cannot help
    ([13, 30], ProviderAuthError),  # the newer list form
])
def test_error_codes_are_mapped(spothit, codes, error):
    spothit.fail_next(Reply(200, {"resultat": 0, "erreurs": codes}))
    with pytest.raises(error) as caught:
        get_provider("spothit").send(unsaved(PHONE))
    assert type(caught.value) is error
    assert caught.value.code in str(codes)


def test_a_403_with_an_error_list_is_an_auth_error(spothit):
    spothit.fail_next(Reply(403, {"erreurs": [100]}))
    with pytest.raises(ProviderAuthError) as caught:
        get_provider("spothit").send(unsaved(PHONE))
    assert caught.value.code == "100"


def test_credits_are_the_balance(spothit):
    balance = get_provider("spothit").balance()
    assert (balance.amount, balance.currency) == (Decimal("120"), "credits")
    assert balance.extra == {"lowcost": 40, "mms": 5, "euros": 9.6}


@pytest.mark.parametrize(("statut", "status", "error_code"), [
    (0, "sent", ""), (3, "sent", ""), (1, "delivered", ""), (4, "failed", "1205"), (5, "expired", "1205"),
])
def test_receipt_statuses_map_to_smsgate_statuses(spothit, statut, status, error_code):
    message = gateway_send(PHONE)
    assert spothit.receipt(int(message.provider_message_id), statut, statut_code="1205").post().status_code == 200
    message.refresh_from_db()
    assert (message.status, message.error_code) == (status, error_code)
    assert message.status_code == {"sent": 2, "delivered": 1, "failed": 4, "expired": 5}[status]


def test_a_receipt_with_an_unknown_statut_is_acknowledged_and_ignored(spothit):
    message = gateway_send(PHONE)
    assert spothit.receipt(int(message.provider_message_id), 6).post().status_code == 200
    assert not ProviderCallback.objects.exists()


@pytest.mark.parametrize(("statut", "detail", "status", "error_code"), [
    (3, 0, "sent", ""), (1, 0, "delivered", ""), (4, 1205, "failed", "1205"),
])
def test_status_can_be_polled_from_the_dlr_endpoint(spothit, statut, detail, status, error_code):
    message = gateway_send(PHONE)
    spothit.statuses[int(message.provider_message_id)] = (statut, detail)
    update = get_provider("spothit").fetch_status(message.provider_message_id)
    assert (update.status, update.error_code) == (status, error_code)
    request = spothit.requests[-1]
    assert (request.path, request.field("id"), request.field("key")) == ("/api/dlr", "1337", spothit.api_key)


def test_polling_an_unknown_campaign_is_an_error_not_a_status(spothit):
    with pytest.raises(PermanentProviderError):
        get_provider("spothit").fetch_status("999")


def test_a_refusal_is_explained_in_the_message_log(spothit):
    message = gateway_send("+33600000000")
    assert (message.status, message.error_code) == ("failed", "5")
    assert message.error_message == "SpotHit error 5 number forbidden"
