"""POST /api/v1/sms/send: auth, validation, idempotency, policy."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from providers.memory import MemoryProvider
from smsgate.models import Message, OptOut
from tests.conftest import client_for

URL = "/api/v1/sms/send"
VALID = {"phone": "+5511987654321", "message": "Your code is 1234"}


def send(api, payload=VALID, **headers):
    return api.post(URL, payload, format="json", **headers)


@pytest.mark.django_db(transaction=True)
def test_it_accepts_and_sends_a_valid_sms(api):
    response = send(api)
    assert response.status_code == 202, response.content
    assert response.data["to"] == "+5511987654321"
    assert response.data["encoding"] == "gsm7" and response.data["segments"] == 1
    message = Message.objects.get(pk=response.data["id"])
    assert message.status == "sent"
    assert message.source_type == "api"
    assert MemoryProvider.outbox == [{"id": message.provider_message_id, "to": "+5511987654321",
                                      "body": "Your code is 1234"}]


def test_it_normalises_a_local_number_with_the_tenant_region(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(api, {"phone": "(11) 98765-4321", "message": "oi"})
    assert response.status_code == 202
    assert response.data["to"] == "+5511987654321"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"phone": "12", "message": "hi"}, "phone"),
        ({"phone": "not a phone", "message": "hi"}, "phone"),
        ({"message": "hi"}, "phone"),
        ({"phone": "+5511987654321", "message": ""}, "message"),
        ({"phone": "+5511987654321", "message": "   "}, "message"),
        ({"phone": "+5511987654321", "message": "x" * 1601}, "message"),
        ({"phone": "+5511987654321", "message": "hi", "message_type": "spam"}, "message_type"),
        ({"phone": "+5511987654321", "message": "hi", "send_at": "tomorrow"}, "send_at"),
        ({"phone": "+5511987654321", "message": "hi", "send_at": "9999-12-31T00:00:00Z"}, "send_at"),
        ({"phone": "+5511987654321", "message": "hi", "send_at": "0001-01-01T00:00:00Z"}, "send_at"),
        ({"phone": "tel:+5511987654321", "message": "hi"}, "phone"),
        ({"phone": "++5511987654321", "message": "hi"}, "phone"),
        ({"phone": "+1 415 555 0101 ext 5", "message": "hi"}, "phone"),
        ({"phone": "+14155550101x5", "message": "hi"}, "phone"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(api, payload, field):
    response = send(api, payload)
    assert response.status_code == 400
    assert field in response.data
    assert Message.objects.count() == 0


def test_without_a_key_it_is_401(db):
    response = send(APIClient())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert Message.objects.count() == 0


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer ", "Token abc", "Basic dXNlcjpwYXNz"])
def test_an_unknown_or_malformed_key_is_401(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert send(client).status_code == 401


def test_a_revoked_key_is_401(tenant):
    client = client_for(tenant)
    tenant.api_keys.update(revoked_at=timezone.now())
    assert send(client).status_code == 401


def test_a_tenant_header_for_another_tenant_is_403(api, other_tenant):
    response = send(api, HTTP_X_TENANT_ID=other_tenant.slug)
    assert response.status_code == 403
    assert Message.objects.count() == 0


def test_a_matching_tenant_header_is_accepted(api, tenant):
    assert send(api, HTTP_X_TENANT_ID=tenant.slug).status_code == 202


def test_the_same_idempotency_key_returns_the_first_message(api):
    first = send(api, HTTP_IDEMPOTENCY_KEY="order-17")
    again = send(api, HTTP_IDEMPOTENCY_KEY="order-17")
    assert first.status_code == again.status_code == 202
    assert again.data["id"] == first.data["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Message.objects.count() == 1


def test_an_idempotency_key_reused_for_another_request_is_409(api):
    send(api, HTTP_IDEMPOTENCY_KEY="order-17")
    response = send(api, {**VALID, "message": "different"}, HTTP_IDEMPOTENCY_KEY="order-17")
    assert response.status_code == 409
    assert Message.objects.count() == 1


def test_idempotency_keys_are_per_tenant(api, other_tenant):
    send(api, HTTP_IDEMPOTENCY_KEY="k1")
    response = send(client_for(other_tenant), {"phone": "+14155550123", "message": "hi"}, HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 202
    assert Message.objects.count() == 2


def test_an_opted_out_number_is_refused_with_a_reason(api, tenant):
    OptOut.objects.create(tenant=tenant, phone="+5511987654321", source="keyword")
    response = send(api)
    assert response.status_code == 400
    assert "opted out" in response.data["phone"][0]
    assert Message.objects.count() == 0


def test_the_safeguard_allows_only_safe_numbers(api, settings):
    settings.SMS_SAFEGUARD = True
    settings.SAFE_PHONE_NUMBERS = ["+5511911112222"]
    assert send(api).status_code == 400
    assert send(api, {"phone": "+55 11 91111-2222", "message": "hi"}).status_code == 202


def test_a_future_send_at_is_scheduled_not_sent(api):
    later = timezone.now() + timedelta(hours=2)
    response = send(api, {**VALID, "send_at": later.isoformat()})
    assert response.status_code == 202
    assert response.data["status"] == "scheduled"
    assert response.data["status_code"] == 0
    assert MemoryProvider.outbox == []


def test_unicode_is_counted_as_ucs2(api):
    response = send(api, {"phone": "+5511987654321", "message": "Olá! Seu código é 1234 😀"})
    assert response.data["encoding"] == "ucs2"


def test_a_body_over_the_limit_is_413_not_500(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(URL, {"phone": "+5511987654321", "message": "x" * 5000}, format="json")
    assert response.status_code == 413


def test_the_callers_ip_and_user_agent_are_logged_with_the_message(api, settings):
    response = api.post(URL, VALID, format="json", REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="crm/2.1")
    message = Message.objects.get(pk=response.data["id"])
    assert (message.request_ip, message.user_agent) == ("203.0.113.7", "crm/2.1")
    settings.TRUST_X_FORWARDED_FOR = True
    response = api.post(URL, {**VALID, "custom_id": "2"}, format="json", REMOTE_ADDR="10.0.0.1",
                        HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert Message.objects.get(pk=response.data["id"]).request_ip == "198.51.100.9"


@pytest.mark.parametrize(("proxies", "forwarded", "client"), [
    (1, "198.51.100.9", "198.51.100.9"),
    (1, "6.6.6.6, 198.51.100.9", "198.51.100.9"),  # the client wrote 6.6.6.6; our proxy appended its address
    (2, "6.6.6.6, 198.51.100.9, 10.0.0.5", "198.51.100.9"),  # a CDN, then the load balancer
    (2, "198.51.100.9", "198.51.100.9"),  # fewer entries than proxies: the first there is
    (1, "6.6.6.6, not-an-ip", "10.0.0.1"),  # not an address where the client should be: the connection's
    (0, "6.6.6.6, 198.51.100.9", "198.51.100.9"),  # a count below 1 means the nearest proxy
])
def test_the_client_address_is_what_our_own_proxies_recorded(api, settings, proxies, forwarded, client):
    settings.TRUST_X_FORWARDED_FOR, settings.TRUSTED_PROXY_COUNT = True, proxies
    response = api.post(URL, VALID, format="json", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert Message.objects.get(pk=response.data["id"]).request_ip == client


def test_beyond_the_api_rate_limit_it_is_429_with_retry_after(api, tenant):
    from rest_framework.settings import api_settings

    from smsgate.api.auth import ApiKeyRateThrottle

    with pytest.MonkeyPatch.context() as patch:
        # A request back every 20 minutes: none while the test runs, however slowly (3/min gave one back in 20 s).
        patch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES",
                      {**api_settings.DEFAULT_THROTTLE_RATES, "api_key": "3/hour"})
        statuses = [api.get("/api/v1/sms/logs").status_code for _ in range(4)]
        response = api.get("/api/v1/sms/logs")
        other = client_for(tenant).get("/api/v1/sms/logs")  # another key has its own budget
    assert statuses == [200, 200, 200, 429]
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert other.status_code == 200


@pytest.mark.parametrize(("days", "accepted"), [(365, True), (366, False), (-6, True), (-8, False)])
def test_send_at_is_at_most_a_year_ahead_and_a_week_back(api, days, accepted):
    send_at = (timezone.now() + timedelta(days=days, hours=-1 if days > 0 else 1)).isoformat()
    response = send(api, {**VALID, "send_at": send_at})
    assert response.status_code == (202 if accepted else 400), response.content
    assert Message.objects.count() == (1 if accepted else 0)
    if not accepted:
        assert "days" in str(response.data["send_at"])


def test_the_schedule_limit_is_a_setting(api, settings):
    settings.SMS_MAX_SCHEDULE_DAYS = 2
    response = send(api, {**VALID, "send_at": (timezone.now() + timedelta(days=3)).isoformat()})
    assert response.status_code == 400
    assert "At most 2 days ahead" in str(response.data["send_at"])


@pytest.mark.parametrize(("payload", "field", "error"), [
    ({"phone": 5511987654321, "message": "hi"}, "phone", "Must be a string."),
    ({"phone": "+5511987654321", "message": 1234}, "message", "Must be a string."),
    ({"phone": "+5511987654321", "message": "hi", "custom_id": 7}, "custom_id", "Must be a string."),
    ({"phone": "+5511987654321", "template_code": "x", "template_data": {"code": 1234}}, "template_data",
     "Must be a string."),
])
def test_json_types_are_taken_as_sent_not_converted(api, payload, field, error):
    """A number where the OpenAPI says string is the client's bug: DRF alone would store "1234"."""
    response = send(api, payload)
    assert response.status_code == 400
    assert response.data[field] == [error]
    assert Message.objects.count() == 0


def test_a_key_revoked_elsewhere_is_refused_within_the_stated_bound(api, tenant, monkeypatch):
    from smsgate.api import auth

    assert send(api).status_code == 202  # the key is now remembered by this process
    tenant.api_keys.update(revoked_at=timezone.now())  # no signal: as another process or the admin's action does
    later = auth.monotonic() + auth.KEY_CACHE_SECONDS + 0.1
    monkeypatch.setattr(auth, "monotonic", lambda: later)
    assert send(api).status_code == 401
    assert Message.objects.count() == 1


def test_a_tenant_deactivated_in_this_process_is_refused_at_once(api, tenant):
    assert send(api).status_code == 202
    tenant.is_active = False
    tenant.save()
    assert send(api).status_code == 401


def test_a_blocked_address_is_refused_even_with_a_key_in_use(api, tenant, settings):
    from rest_framework.settings import api_settings

    from smsgate.api.throttling import FailedAuthThrottle

    assert send(api).status_code == 202
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Bearer guess")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FailedAuthThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES,
                                                             "auth_failure": "2/hour"})
        assert [send(guesser).status_code for _ in range(3)] == [401, 401, 429]
        response = send(api)  # the same address (the test client's)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert Message.objects.count() == 1


def test_forged_forwarded_addresses_do_not_dodge_the_failed_auth_throttle(tenant, settings):
    from rest_framework.settings import api_settings

    from smsgate.api.throttling import FailedAuthThrottle

    settings.TRUST_X_FORWARDED_FOR = True
    guesser = APIClient(REMOTE_ADDR="10.0.0.1")  # our proxy; it appends the address it saw
    guesser.credentials(HTTP_AUTHORIZATION="Bearer guess")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FailedAuthThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES,
                                                             "auth_failure": "2/hour"})
        statuses = [send(guesser, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.9").status_code for n in range(4)]
    assert statuses == [401, 401, 429, 429]


def test_use_of_a_key_is_recorded(api, tenant):
    assert send(api).status_code == 202
    assert send(api).status_code == 202
    assert tenant.api_keys.get().last_used_at is not None


def test_one_requests_field_errors_do_not_reach_the_next(api):
    first = send(api, {"phone": "12", "message": "hi"})
    accepted = send(api)
    second = send(api, {"phone": "+5511987654321", "message": "x" * 1601})
    assert first.status_code == second.status_code == 400 and accepted.status_code == 202
    assert set(first.data) == {"phone"} and set(second.data) == {"message"}
    assert send(api).data["to"] == "+5511987654321"
