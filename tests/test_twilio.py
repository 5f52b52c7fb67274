"""The Twilio backend: the real SDK against the loopback fake, and signed status callbacks."""

import base64
from decimal import Decimal

import pytest
from django.test import Client

from providers.base import SendResult
from providers.registry import get_provider, route_for
from smsgate.models import Message, OptOut, ProviderAccount, ProviderCallback, Tenant
from smsgate.sending import dispatch
from smsgate.sending.routing import sent
from smsgate.sending.tasks import sweep_due_messages_task
from tests.fakes.server import Reply
from tests.fakes.twilio import sign
from tests.sending import submit_one, unsaved

pytestmark = pytest.mark.django_db
SEND = "/api/v1/sms/send"
CALLBACK = "/api/v1/sms/delivery/twilio"
CALLBACK_URL = "https://gateway.example.com" + CALLBACK


def send_via_api(api, django_capture_on_commit_callbacks, phone="+14155550123", body="Hi from smsgate"):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(SEND, {"phone": phone, "message": body}, format="json")
    assert response.status_code == 202, response.content
    return Message.objects.get(pk=response.data["id"])


def test_the_sdk_request_is_twilios_wire_format(api, twilio, django_capture_on_commit_callbacks):
    message = send_via_api(api, django_capture_on_commit_callbacks)
    [request] = twilio.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    expected_auth = base64.b64encode(f"{twilio.account_sid}:{twilio.auth_token}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected_auth}"
    assert request.form == {"To": ["+14155550123"], "From": ["+15005550006"], "Body": ["Hi from smsgate"],
                            "StatusCallback": [CALLBACK_URL]}
    assert message.status == "sent"
    assert message.provider == "twilio"
    assert message.provider_message_id == twilio.sent[0]["sid"]


def test_an_invalid_number_fails_permanently_with_twilios_code(api, twilio, django_capture_on_commit_callbacks):
    message = send_via_api(api, django_capture_on_commit_callbacks, phone="+15005550001")
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "21211")
    assert "not a valid phone number" in message.error_message


def test_twilio_21610_adds_an_opt_out(api, twilio, tenant, django_capture_on_commit_callbacks):
    message = send_via_api(api, django_capture_on_commit_callbacks, phone="+15005550004")
    message.refresh_from_db()
    assert message.status == "failed"
    assert OptOut.objects.filter(tenant=tenant, phone="+15005550004").exists()


@pytest.mark.parametrize("fault", [
    Reply(500, {"code": 20500, "message": "Internal Server Error", "status": 500}),
    Reply(429, {"code": 20429, "message": "Too Many Requests", "status": 429}),
    Reply(401, {"code": 20003, "message": "Authenticate", "status": 401}),
])
def test_a_transient_twilio_error_is_retried_not_failed(api, twilio, fault, django_capture_on_commit_callbacks):
    twilio.fail_next(fault)
    message = send_via_api(api, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == "queued" and message.attempts == 1
    assert message.error_code == str(fault.body["code"])
    Message.objects.filter(pk=message.pk).update(due_at=message.created_at)
    sweep_due_messages_task()
    message.refresh_from_db()
    assert message.status == "sent"


def test_an_unreachable_twilio_is_transient(api, twilio, settings, django_capture_on_commit_callbacks):
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    message = send_via_api(api, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == "queued"
    assert "unreachable" in message.error_message


def test_balance_and_status_come_from_twilio(twilio, tenant, api, django_capture_on_commit_callbacks):
    provider = get_provider("twilio")
    balance = provider.balance()
    assert (balance.amount, balance.currency) == (Decimal("12.34"), "USD")
    message = send_via_api(api, django_capture_on_commit_callbacks)
    assert provider.fetch_status(message.provider_message_id).status == "sent"


def post_callback(twilio, params, signature=None):
    signature = sign(CALLBACK_URL, params, twilio.auth_token) if signature is None else signature
    return Client().post(CALLBACK, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_a_signed_delivery_receipt_marks_the_message_delivered(api, twilio, django_capture_on_commit_callbacks):
    message = send_via_api(api, django_capture_on_commit_callbacks)
    response = post_callback(twilio, twilio.callback_params(message.provider_message_id, "delivered"))
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered" and message.delivered_at is not None
    assert message.status_code == 1
    stored = ProviderCallback.objects.get()
    assert stored.matched and stored.payload["raw"]["MessageStatus"] == "delivered"


def test_a_forged_receipt_is_403_and_changes_nothing(api, twilio, django_capture_on_commit_callbacks):
    message = send_via_api(api, django_capture_on_commit_callbacks)
    params = twilio.callback_params(message.provider_message_id, "delivered")
    assert post_callback(twilio, params, signature="forged").status_code == 403
    assert post_callback(twilio, params, signature=sign(CALLBACK_URL, params, "wrong token")).status_code == 403
    tampered = {**params, "MessageStatus": "failed"}
    assert post_callback(twilio, tampered, signature=sign(CALLBACK_URL, params)).status_code == 403
    message.refresh_from_db()
    assert message.status == "sent"
    assert ProviderCallback.objects.count() == 0


def test_a_repeated_receipt_is_stored_once(api, twilio, django_capture_on_commit_callbacks):
    message = send_via_api(api, django_capture_on_commit_callbacks)
    params = twilio.callback_params(message.provider_message_id, "delivered")
    assert post_callback(twilio, params).status_code == 200
    assert post_callback(twilio, params).status_code == 200
    assert ProviderCallback.objects.count() == 1
    assert message.events.filter(kind="receipt").count() == 1


def test_a_late_sent_never_overwrites_delivered(api, twilio, django_capture_on_commit_callbacks):
    message = send_via_api(api, django_capture_on_commit_callbacks)
    post_callback(twilio, twilio.callback_params(message.provider_message_id, "delivered"))
    post_callback(twilio, twilio.callback_params(message.provider_message_id, "sent"))
    message.refresh_from_db()
    assert message.status == "delivered"


def test_an_undelivered_receipt_records_the_error(api, twilio, django_capture_on_commit_callbacks):
    message = send_via_api(api, django_capture_on_commit_callbacks)
    post_callback(twilio, twilio.callback_params(message.provider_message_id, "undelivered", error_code="30003"))
    message.refresh_from_db()
    assert (message.status, message.error_code, message.status_code) == ("undelivered", "30003", 4)


def test_a_receipt_for_an_unknown_message_is_kept_and_applied_when_the_send_is_recorded(twilio):
    tenant = Tenant.objects.get(slug="default")
    message = submit_one(tenant=tenant, to="+14155550123", body="race")
    token = dispatch.claim_one(message.pk)
    sid = "SM" + "f" * 32
    twilio.messages[sid] = {"from": "+15005550006", "to": message.to}
    assert post_callback(twilio, twilio.callback_params(sid, "delivered")).status_code == 200
    assert not ProviderCallback.objects.get().matched
    dispatch.record_outcomes([sent(message, "twilio", SendResult(provider_message_id=sid))], token)
    message.refresh_from_db()
    assert message.status == "delivered"
    assert ProviderCallback.objects.get().matched


def test_the_signature_matches_twilios_published_vector():
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}
    assert sign("https://mycompany.com/myapp.php?foo=1&bar=2", params, "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_a_stop_reply_adds_an_opt_out_and_start_removes_it(twilio, tenant, api, django_capture_on_commit_callbacks):
    message = send_via_api(api, django_capture_on_commit_callbacks)
    url = "https://gateway.example.com/api/v1/sms/inbound/twilio"

    def reply(body, sid):
        params = {"MessageSid": sid, "From": message.to, "To": "+15005550006", "Body": body,
                  "AccountSid": twilio.account_sid, "NumMedia": "0"}
        return Client().post("/api/v1/sms/inbound/twilio", params, HTTP_X_TWILIO_SIGNATURE=sign(url, params))

    response = reply(" stop ", "SM" + "1" * 32)
    assert response.status_code == 200 and response["Content-Type"] == "text/xml"
    assert OptOut.objects.filter(tenant=tenant, phone=message.to, source="keyword").exists()
    reply("START", "SM" + "2" * 32)
    assert not OptOut.objects.filter(tenant=tenant, phone=message.to).exists()


def test_callbacks_for_an_unknown_provider_are_404(db):
    assert Client().post("/api/v1/sms/delivery/nosuch", {}).status_code == 404


def test_messages_routed_one_by_one_share_a_kept_alive_connection(twilio, tenant):
    """The dispatcher asks route_for for every message; that must not open a connection (a TLS handshake) each."""
    for _ in range(20):
        route_for("twilio", tenant).provider.send(unsaved("+14155550123"))
    assert len(twilio.sent) == 20
    assert twilio.connections <= 2


def test_rotated_credentials_are_used_at_once(twilio, tenant, settings):
    route_for("twilio", tenant).provider.send(unsaved("+14155550123"))
    twilio.auth_token = settings.TWILIO_AUTH_TOKEN = "rotated-token"
    route_for("twilio", tenant).provider.send(unsaved("+14155550123"))
    account = ProviderAccount.objects.create(tenant=tenant, provider="twilio", credentials={
        "account_sid": twilio.account_sid, "auth_token": "rotated-token"})
    route_for("twilio", tenant).provider.send(unsaved("+14155550123"))
    twilio.auth_token = account.credentials["auth_token"] = "the-tenants-next-token"
    account.save()
    route_for("twilio", tenant).provider.send(unsaved("+14155550123"))
    assert len(twilio.sent) == 4
