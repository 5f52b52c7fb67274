"""Forged carrier callbacks and postbacks change nothing, for every provider; replays are applied once."""

import json

import pytest

from providers.base import Provider
from providers.registry import PROVIDERS, provider_class
from smsgate.models import Message, OptOut, ProviderAccount, ProviderCallback
from tests.sending import submit_one
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

FORGERIES = [
    ({"MessageSid": "SM1", "MessageStatus": "delivered", "From": "+5511987654321", "Body": "STOP"}, None),
    (json.dumps({"resource": "message", "event": "message.received", "token": "guess",
                 "data": {"id": "1", "body": "STOP", "raw_digits": "+5511987654321"}}), "application/json"),
    ({"id_accuse": "1", "numero": "+5511987654321", "statut": "1", "secret": "guess"}, None),
]
# A tenant's own account, with its own callback secret.
OWN_SECRETS = {"twilio": {"account_sid": "AC" + "c" * 32, "auth_token": "own-token"},
               "aircall": {"api_id": "own", "api_token": "own", "number_id": "1", "webhook_token": "own-token"},
               "smsc": {"login": "own", "password": "own", "webhook_secret": "own-secret"},
               "spothit": {"api_key": "own", "webhook_secret": "own-secret"},
               "websms": {"user": "own", "apikey": "own"}, "chunghwa": {"account_id": "own", "password": "own"}}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
@pytest.mark.parametrize("kind", ["delivery", "inbound"])
@pytest.mark.parametrize(("payload", "content_type"), FORGERIES)
@pytest.mark.parametrize("account", ["platform", "tenant's own"])
def test_a_forged_callback_is_refused_and_changes_nothing(client, tenant, settings, provider, kind, payload,
                                                          content_type, account):
    settings.TWILIO_AUTH_TOKEN = "real-token"
    settings.AIRCALL_WEBHOOK_TOKEN = "real-aircall-token"
    settings.SMSC_WEBHOOK_SECRET = settings.SPOTHIT_WEBHOOK_SECRET = "real-secret"
    query = "secret=guess"
    if account != "platform":
        ProviderAccount.objects.create(tenant=tenant, provider=provider, credentials=OWN_SECRETS.get(provider, {}))
        query += f"&tenant={tenant.slug}"
    message = submit_one(tenant=tenant, to="+5511987654321", body="hi")
    kwargs = {"content_type": content_type} if content_type else {}
    response = client.post(f"/api/v1/sms/{kind}/{provider}?{query}", payload, **kwargs)
    assert response.status_code in (403, 404), (provider, kind, response.status_code)
    assert ProviderCallback.objects.count() == 0 and OptOut.objects.count() == 0
    assert Message.objects.get(pk=message.pk).status == message.status


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_every_backend_that_takes_callbacks_authenticates_them_itself(provider):
    """The core runs authenticate_callback before any parsing; the default refuses everything."""
    backend = provider_class(provider)
    assert not backend.callback_kinds or backend.authenticate_callback is not Provider.authenticate_callback
    assert set(backend.callback_kinds) <= {"delivery", "inbound"}


def test_a_forged_or_replayed_postback_is_not_processed_twice(client, settings):
    from tests.tribopay_support import post, postback

    settings.TRIBOPAY_WEBHOOK_SECRET = "real"
    assert post(postback("pay_x"), token="guess").status_code == 403
    assert WebhookEvent.objects.count() == 0
    assert post(postback("pay_x"), token="real").status_code == 200
    replay = post(postback("pay_x"), token="real")
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    assert WebhookEvent.objects.count() == 1
