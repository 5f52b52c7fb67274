"""MMS through the real road: the send and bulk APIs, submit's checks, carriers that can and cannot send media,
and Twilio's MediaUrl on the loopback fake."""

import time
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from providers.base import PermanentProviderError
from providers.memory import MemoryProvider
from providers.smsc import SmscProvider
from providers.spothit import SpotHitProvider
from providers.twilio import TwilioProvider
from smsgate.media import SALT
from smsgate.models import MediaFile, Message
from smsgate.sending import dispatch
from tests.conftest import client_for
from tests.fakes.twilio import sign
from tests.mms_support import GIF, png, uploaded_url
from tests.sending import submit_one, unsaved

pytestmark = pytest.mark.django_db
SEND = "/api/v1/sms/send"
BULK = "/api/v1/sms/bulk"
PICTURE = "https://cdn.example.org/offer.jpg"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def send(api, capture, **payload):
    payload.setdefault("phone", "+14155550123")
    with capture(execute=True):
        return api.post(SEND, payload, format="json")


def test_an_mms_goes_to_twilio_as_repeated_media_url_fields(api, twilio, django_capture_on_commit_callbacks):
    own = uploaded_url(api)
    response = send(api, django_capture_on_commit_callbacks, message="Your offer", media_urls=[PICTURE, own])
    assert response.status_code == 202, response.content
    assert response.data["media_urls"] == [PICTURE, own]
    assert response.data["segments"] == 1
    [request] = twilio.requests
    assert request.form["MediaUrl"] == [PICTURE, own]
    assert request.form["Body"] == ["Your offer"]
    [sent] = twilio.sent
    assert sent["num_media"] == "2"
    assert twilio.media[sent["sid"]] == [PICTURE, own]
    message = Message.objects.get(pk=response.data["id"])
    assert (message.status, message.provider, message.media_urls) == ("sent", "twilio", [PICTURE, own])


def test_an_mms_without_text_sends_no_body(api, twilio, django_capture_on_commit_callbacks):
    response = send(api, django_capture_on_commit_callbacks, media_urls=[PICTURE])
    assert response.status_code == 202, response.content
    assert response.data["body"] == ""
    [request] = twilio.requests
    assert "Body" not in request.form and request.form["MediaUrl"] == [PICTURE]
    assert Message.objects.get(pk=response.data["id"]).status == "sent"


def test_a_long_text_with_media_is_one_mms_not_many_segments(api, django_capture_on_commit_callbacks):
    response = send(api, django_capture_on_commit_callbacks, message="x" * 900, media_urls=[PICTURE])
    assert response.status_code == 202, response.content
    assert (response.data["segments"], response.data["segments_saved"]) == (1, 0)


def test_the_logs_show_the_media(api, django_capture_on_commit_callbacks):
    message_id = send(api, django_capture_on_commit_callbacks, message="hi", media_urls=[PICTURE]).data["id"]
    assert api.get(f"/api/v1/sms/logs/{message_id}").data["media_urls"] == [PICTURE]
    assert api.get("/api/v1/sms/logs").data["results"][0]["media_urls"] == [PICTURE]


def test_neither_text_nor_media_is_refused(api):
    response = api.post(SEND, {"phone": "+14155550123", "media_urls": []}, format="json")
    assert response.status_code == 400
    assert "message" in response.data


@pytest.mark.parametrize(("media_urls", "expected"), [
    ([PICTURE] * 11, "no more than 10"),
    (["not a url"], "no spaces or control characters"),
    (["not-a-url"], "absolute http:// or https://"),
    (["javascript:alert(1)"], "absolute http:// or https://"),
    (["file:///etc/passwd"], "absolute http:// or https://"),
    (["ftp://example.org/a.png"], "absolute http:// or https://"),
    (["/m/relative"], "absolute http:// or https://"),
    (["https://"], "absolute http:// or https://"),
    (["https://example.org:99999/a.png"], "not a valid URL"),
    (["https://example.org/a b.png"], "no spaces or control characters"),
    (["https://example.org/\t.png"], "no spaces or control characters"),
    (["https://example.org/" + "a" * 5000], "no more than 2000 characters"),
    ("https://example.org/a.png", "Expected a list"),
    ({"url": PICTURE}, "Expected a list"),
    ([5], "Not a valid string"),
    ([["https://example.org/a.png"]], "Not a valid string"),
    ([None], "may not be null"),
])
def test_hostile_media_urls_are_400_on_media_urls(api, media_urls, expected):
    response = api.post(SEND, {"phone": "+14155550123", "message": "hi", "media_urls": media_urls}, format="json")
    assert response.status_code == 400, response.content
    assert expected in str(response.data["media_urls"]), response.data
    assert not Message.objects.exists()


def test_a_nul_in_a_media_url_is_refused_by_the_input_guard(api):
    response = api.post(SEND, {"phone": "+14155550123", "media_urls": ["https://example.org/\x00.png"]},
                        format="json")
    assert response.status_code == 400
    assert "NUL characters" in str(response.data["media_urls.0"])


def test_another_tenants_signed_url_is_refused(api, other_tenant):
    theirs = uploaded_url(client_for(other_tenant))
    response = api.post(SEND, {"phone": "+14155550123", "media_urls": [theirs]}, format="json")
    assert response.status_code == 400
    assert "not a valid media URL of this account" in response.data["media_urls"][0]


def test_a_tampered_signed_url_is_refused(api):
    url = uploaded_url(api)
    response = api.post(SEND, {"phone": "+14155550123", "media_urls": [url[:-3] + "abc"]}, format="json")
    assert response.status_code == 400
    assert "not a valid media URL of this account" in response.data["media_urls"][0]


def test_an_expired_signed_url_is_refused(api, tenant):
    uploaded_url(api)
    media = MediaFile.objects.get()
    token = signing.dumps({"m": media.pk, "t": tenant.pk, "e": int(time.time()) - 10}, salt=SALT, compress=False)
    response = api.post(SEND, {"phone": "+14155550123", "media_urls": [f"https://gateway.example.com/m/{token}"]},
                        format="json")
    assert response.status_code == 400
    assert "expires before the message is due" in response.data["media_urls"][0]


def test_a_signed_url_that_expires_before_a_scheduled_send_is_refused(api):
    url = uploaded_url(api)
    send_at = (timezone.now() + timedelta(days=8)).isoformat()
    response = api.post(SEND, {"phone": "+14155550123", "media_urls": [url], "send_at": send_at}, format="json")
    assert response.status_code == 400
    assert "MMS_MEDIA_URL_DAYS=7" in response.data["media_urls"][0]


def test_our_files_may_add_up_to_mms_max_message_bytes(api, settings):
    urls = [uploaded_url(api, png(20, 20)) for _ in range(3)]
    size = len(png(20, 20))
    settings.MMS_MAX_MESSAGE_BYTES = size * 3 - 1
    response = api.post(SEND, {"phone": "+14155550123", "media_urls": urls}, format="json")
    assert response.status_code == 400
    assert f"the limit is {size * 3 - 1} bytes per message" in response.data["media_urls"][0]
    settings.MMS_MAX_MESSAGE_BYTES = size * 3
    assert api.post(SEND, {"phone": "+14155550123", "media_urls": urls}, format="json").status_code == 202


def test_a_tenant_whose_chain_cannot_send_mms_is_refused_at_submit(api, tenant):
    tenant.primary_provider, tenant.fallback_providers = "smsc", "websms, spothit"
    tenant.save()
    response = api.post(SEND, {"phone": "+14155550123", "message": "hi", "media_urls": [PICTURE]}, format="json")
    assert response.status_code == 400
    assert response.data["media_urls"] == [
        "No carrier of this account sends MMS (its chain: smsc, websms, spothit); MMS go through aircall, console, "
        "twilio."]
    # The same text without media is fine.
    assert api.post(SEND, {"phone": "+14155550123", "message": "hi"}, format="json").status_code == 202


def test_carriers_without_mms_say_so(settings):
    mms = unsaved("+14155550123")
    mms.media_urls = [PICTURE]
    assert SmscProvider(login="l", password="p").cannot_send(mms) == "smsc does not send MMS"
    assert SpotHitProvider(api_key="k").cannot_send(mms) == "spothit does not send MMS"
    assert TwilioProvider(account_sid="AC", auth_token="t").cannot_send(mms) == ""
    assert SmscProvider(login="l", password="p").cannot_send(unsaved("+14155550123")) == ""


def test_an_mms_fails_over_past_a_carrier_without_mms(tenant, smsc, twilio, django_capture_on_commit_callbacks):
    tenant.primary_provider, tenant.fallback_providers = "smsc", "twilio"
    tenant.save()
    with django_capture_on_commit_callbacks(execute=True):
        message = submit_one(tenant=tenant, to="+14155550123", body="hi", media_urls=[PICTURE])
    message.refresh_from_db()
    assert (message.status, message.provider) == ("sent", "twilio")
    assert not smsc.requests
    assert twilio.media[message.provider_message_id] == [PICTURE]


def test_an_mms_no_carrier_can_send_any_more_fails_with_every_reason(tenant, smsc, spothit):
    tenant.primary_provider = "memory"
    tenant.save()
    message = submit_one(tenant=tenant, to="+14155550123", body="hi", media_urls=[PICTURE])  # memory could
    tenant.primary_provider, tenant.fallback_providers = "smsc", "spothit"  # then the chain changed
    tenant.save()
    dispatch.deliver([message.pk], dispatch.claim_one(message.pk))
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.status_reason == "no provider can send it"
    assert message.error_message == "smsc does not send MMS; spothit does not send MMS"
    assert not smsc.requests and not spothit.requests


def test_the_twilio_fake_refuses_as_twilio_does(twilio):
    provider = TwilioProvider(account_sid=twilio.account_sid, auth_token=twilio.auth_token,
                              from_number="+15005550006", base_url=twilio.url)
    too_many = unsaved("+14155550123")
    too_many.media_urls = [PICTURE] * 11
    with pytest.raises(PermanentProviderError, match="exceeds allowed limit") as raised:
        provider.send(too_many)
    assert raised.value.code == "21623"
    bad = unsaved("+14155550123")
    bad.media_urls = ["cdn.example.org/a.png"]
    with pytest.raises(PermanentProviderError, match="Invalid media URL") as raised:
        provider.send(bad)
    assert raised.value.code == "21620"
    empty = unsaved("+14155550123", body="")
    with pytest.raises(PermanentProviderError, match="body is required") as raised:
        provider.send(empty)
    assert raised.value.code == "21602"


def test_a_twilio_receipt_with_a_media_error_marks_the_mms_failed(api, twilio, django_capture_on_commit_callbacks):
    response = send(api, django_capture_on_commit_callbacks, message="hi", media_urls=[PICTURE])
    message = Message.objects.get(pk=response.data["id"])
    params = twilio.callback_params(message.provider_message_id, "failed", error_code="12300")
    url = "https://gateway.example.com/api/v1/sms/delivery/twilio"
    answer = Client().post("/api/v1/sms/delivery/twilio", params, HTTP_X_TWILIO_SIGNATURE=sign(url, params))
    assert answer.status_code == 200
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "12300")


def test_memory_records_the_media(tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit_one(tenant=tenant, to="+14155550123", body="", media_urls=[PICTURE])
    assert MemoryProvider.outbox[0]["media_urls"] == [PICTURE]


def test_an_idempotent_repeat_with_other_media_is_a_conflict(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "mms-1"}
    first = api.post(SEND, {"phone": "+14155550123", "message": "hi", "media_urls": [PICTURE]}, format="json",
                     **headers)
    assert first.status_code == 202
    again = api.post(SEND, {"phone": "+14155550123", "message": "hi", "media_urls": [PICTURE]}, format="json",
                     **headers)
    assert again.status_code == 202 and again.data["id"] == first.data["id"]
    other = api.post(SEND, {"phone": "+14155550123", "message": "hi", "media_urls": [PICTURE + "?v=2"]},
                     format="json", **headers)
    assert other.status_code == 409


@pytest.mark.django_db(transaction=True)
def test_a_bulk_of_mms_goes_through_copy_with_request_and_entry_media(api):
    own = uploaded_url(api, GIF)
    entries = [{"phone": f"+1415555{n:04d}", "message": f"offer {n}"} for n in range(60)]
    entries[3]["media_urls"] = [own]
    entries[4]["media_urls"] = []  # an entry that opts out of the request's media: an SMS
    entries[5] = {"phone": "+14155559999"}  # no text: the request's media alone
    response = api.post(BULK, {"messages": entries, "media_urls": [PICTURE]}, format="json")
    assert response.status_code == 202, response.content
    messages = {m.to: m for m in Message.objects.all()}
    assert len(messages) == 60
    assert messages["+14155550003"].media_urls == [own]
    assert messages["+14155550004"].media_urls == []
    assert (messages["+14155559999"].media_urls, messages["+14155559999"].body) == ([PICTURE], "")
    assert messages["+14155550042"].media_urls == [PICTURE]
    assert all(m.status == "sent" for m in messages.values())
    sent = {m["to"]: m.get("media_urls", []) for m in MemoryProvider.outbox}
    assert sent["+14155550003"] == [own] and sent["+14155550042"] == [PICTURE] and sent["+14155550004"] == []


def test_a_bulk_entry_with_bad_media_names_the_entry(api):
    response = api.post(BULK, {"messages": [
        {"phone": "+14155550001", "message": "a"},
        {"phone": "+14155550002", "message": "b", "media_urls": ["javascript:alert(1)"]},
    ]}, format="json")
    assert response.status_code == 400
    assert "media_urls" in response.data["messages"][1]
    assert not Message.objects.exists()


def test_a_bulk_entry_with_neither_text_nor_media_is_refused(api):
    response = api.post(BULK, {"messages": [{"phone": "+14155550001"}]}, format="json")
    assert response.status_code == 400
    assert response.data["messages"][0]["message"] == ["Send message or template_code (or media_urls)."]


def test_aircall_sends_media_in_its_native_send(tenant, aircall, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = submit_one(tenant=tenant, to="+33612345678", body="Voici le plan", media_urls=[PICTURE])
    message.refresh_from_db()
    assert (message.status, message.provider) == ("sent", "aircall")
    [request] = aircall.requests
    assert request.json() == {"to": "+33612345678", "body": "Voici le plan", "mediaUrl": [PICTURE]}
    assert aircall.messages[message.provider_message_id]["media_url"] == [PICTURE]


def test_aircall_is_not_given_media_without_a_text(tenant, aircall, twilio, django_capture_on_commit_callbacks):
    tenant.primary_provider, tenant.fallback_providers = "aircall", "twilio"
    tenant.save()
    with django_capture_on_commit_callbacks(execute=True):
        message = submit_one(tenant=tenant, to="+14155550123", media_urls=[PICTURE])
    message.refresh_from_db()
    assert (message.status, message.provider) == ("sent", "twilio")
    assert not aircall.requests


def test_an_sms_to_aircall_has_no_media_field(tenant, aircall, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit_one(tenant=tenant, to="+33612345678", body="Bonjour")
    assert aircall.requests[0].json() == {"to": "+33612345678", "body": "Bonjour"}


def test_a_bulk_sharing_one_uploaded_picture_checks_it_once(api, django_assert_max_num_queries):
    own = uploaded_url(api)
    entries = [{"phone": f"+1415555{n:04d}", "message": f"offer {n}"} for n in range(40)]
    with django_assert_max_num_queries(60) as queries:
        response = api.post(BULK, {"messages": entries, "media_urls": [own]}, format="json")
    assert response.status_code == 202, response.content
    assert sum("smsgate_mediafile" in q["sql"] for q in queries.captured_queries) == 1


def test_the_logs_are_filtered_by_kind(api, tenant):
    sms = submit_one(tenant=tenant, to="+14155550150", body="plain")
    mms = submit_one(tenant=tenant, to="+14155550151", body="look", media_urls=[PICTURE])
    assert [m["id"] for m in api.get("/api/v1/sms/logs", {"kind": "mms"}).data["results"]] == [mms.pk]
    assert [m["id"] for m in api.get("/api/v1/sms/logs", {"kind": "sms"}).data["results"]] == [sms.pk]
    assert api.get("/api/v1/sms/logs", {"kind": "fax"}).status_code == 400
