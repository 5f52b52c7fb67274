"""Aircall wire details: the 1600-character limit, HTTP errors, webhook envelopes and tokens."""

import pytest

from providers.base import PermanentProviderError, ProviderAuthError, RateLimitedError
from providers.registry import get_provider
from smsgate.models import OptOut, ProviderCallback
from tests.fakes.callback import Callback
from tests.fakes.server import Reply
from tests.sending import gateway_send, unsaved

pytestmark = pytest.mark.django_db
PHONE = "+33612345678"


def test_1601_characters_are_refused_before_anything_is_sent(aircall):
    with pytest.raises(PermanentProviderError) as caught:
        get_provider("aircall").send(unsaved(PHONE, "x" * 1601))
    assert caught.value.code == "length"
    assert aircall.requests == []
    get_provider("aircall").send(unsaved(PHONE, "x" * 1600))
    assert len(aircall.requests) == 1


@pytest.mark.parametrize(("reply", "error"), [
    (Reply(429, {"error": "Too many requests"}), RateLimitedError),
    (Reply(422, {"error": "Unprocessable"}), PermanentProviderError),
    (Reply(403, {"error": "Forbidden"}), ProviderAuthError),
])
def test_http_errors_are_mapped(aircall, reply, error):
    aircall.fail_next(reply)
    with pytest.raises(error) as caught:
        get_provider("aircall").send(unsaved(PHONE))
    assert reply.body["error"] in str(caught.value)


def test_an_unknown_number_id_is_a_configuration_error_not_the_messages(aircall, settings):
    settings.AIRCALL_NUMBER_ID = "999"
    with pytest.raises(ProviderAuthError):
        get_provider("aircall").send(unsaved(PHONE))


def test_a_failed_status_fails_the_message(aircall):
    message = gateway_send(PHONE)
    assert aircall.status_updated(message.provider_message_id, "failed").post().status_code == 200
    message.refresh_from_db()
    assert message.status == "failed"


def test_statuses_we_do_not_know_are_acknowledged_and_ignored(aircall):
    message = gateway_send(PHONE)
    assert aircall.status_updated(message.provider_message_id, "teleported").post().status_code == 200
    assert not ProviderCallback.objects.exists()


def test_any_configured_webhook_token_is_accepted(aircall, settings):
    """Status and reply webhooks are two Aircall webhooks with two tokens."""
    settings.AIRCALL_WEBHOOK_TOKEN = f"other-webhook-token, {aircall.webhook_token}"
    message = gateway_send(PHONE)
    assert aircall.status_updated(message.provider_message_id, "delivered").post().status_code == 200
    assert aircall.status_updated(message.provider_message_id, "delivered",
                                  token="other-webhook-token").post().status_code == 200
    assert aircall.status_updated(message.provider_message_id, "delivered",
                                  token="other").post().status_code == 403


def test_a_body_that_is_not_an_envelope_is_403(aircall):
    for body in ("not json", "[1, 2]"):
        assert Callback("/api/v1/sms/delivery/aircall", body, "application/json").post().status_code == 403


def test_an_inbound_reply_normalises_aircalls_display_numbers(aircall):
    gateway_send(PHONE)
    assert aircall.received("msg-in-1", "+33 6 12 34 56 78", "stop").post().status_code == 200
    stored = ProviderCallback.objects.get(kind="inbound")
    assert (stored.payload["sender"], stored.payload["recipient"]) == (PHONE, "+33176340000")
    assert OptOut.objects.filter(phone=PHONE).exists()


def test_a_reply_posted_to_the_receipt_url_is_ignored(aircall):
    callback = aircall.received("msg-in-1", PHONE, "STOP")
    callback.path = "/api/v1/sms/delivery/aircall"
    assert callback.post().status_code == 200
    assert not ProviderCallback.objects.exists() and not OptOut.objects.exists()
