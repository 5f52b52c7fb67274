"""The SMSC.ru backend against the loopback fake: wire format, error codes, status, balance, callbacks."""

import json
from decimal import Decimal

import pytest
from django.test import Client

from providers.base import (
    PermanentProviderError,
    ProviderAuthError,
    RateLimitedError,
    TransientProviderError,
)
from providers.memory import MemoryProvider
from providers.registry import get_provider
from providers.smsc import error_from
from smsgate.models import Message, ProviderCallback
from smsgate.sending.tasks import sweep_due_messages_task
from tests.conftest import SMSC_WEBHOOK_SECRET
from tests.fakes.server import Reply
from tests.fakes.smsc import smsc_error
from tests.sending import submit_one

pytestmark = pytest.mark.django_db
PHONE = "+79991234567"
CALLBACK = "/api/v1/sms/delivery/smsc"


def send(tenant, capture, body="Hello from smsgate", phone=PHONE) -> Message:
    with capture(execute=True):
        message = submit_one(tenant=tenant, to=phone, body=body)
    message.refresh_from_db()
    return message


def test_send_is_smscs_wire_format(smsc, tenant, django_capture_on_commit_callbacks):
    message = send(tenant, django_capture_on_commit_callbacks)
    [request] = smsc.requests
    assert (request.method, request.path) == ("POST", "/sys/send.php")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["User-Agent"] == "smsgate"
    assert request.query == {}  # the password never travels in the URL
    assert request.form == {
        "login": ["smsgate-test"], "psw": ["test-password"], "fmt": ["3"], "phones": [PHONE],
        "mes": ["Hello from smsgate"], "charset": ["utf-8"], "cost": ["3"], "sender": ["smsgate"],
        "id": [str(message.pk)],
    }
    assert (message.status, message.provider) == ("sent", "smsc")
    assert message.provider_message_id == f"{message.pk}:79991234567"
    assert (message.segments, message.price, message.price_unit) == (1, Decimal("1.40"), "RUB")
    assert smsc.balance == "83.35"  # cost=3 charged and reported the balance


def test_cyrillic_text_is_sent_as_utf8_and_smscs_part_count_is_kept(smsc, tenant,
                                                                    django_capture_on_commit_callbacks):
    text = "Здравствуйте! Ваша заявка принята, мы скоро свяжемся с вами. Спасибо за доверие."
    message = send(tenant, django_capture_on_commit_callbacks, body=text)
    assert smsc.sent[0]["mes"] == text
    assert (message.segments, message.price) == (2, Decimal("2.80"))


@pytest.mark.parametrize("code", [1, 5, 6, 7, 8])
def test_errors_about_the_message_fail_it_at_once(smsc, tenant, code, django_capture_on_commit_callbacks):
    smsc.fail_next(smsc_error(code, 1))
    message = send(tenant, django_capture_on_commit_callbacks)
    assert (message.status, message.error_code, message.attempts) == ("failed", str(code), 1)
    assert message.error_message.startswith(f"SMSC error {code}:")


@pytest.mark.parametrize("fault", [
    smsc_error(2), smsc_error(3, 1), smsc_error(4), smsc_error(9),
    Reply(500, "Internal Server Error"), Reply(503, ""), Reply(200, "<html>maintenance</html>"),
])
def test_errors_about_our_account_or_smscs_health_are_retried(smsc, tenant, fault,
                                                              django_capture_on_commit_callbacks):
    smsc.fail_next(fault)
    message = send(tenant, django_capture_on_commit_callbacks)
    assert (message.status, message.attempts) == ("queued", 1)
    Message.objects.filter(pk=message.pk).update(due_at=message.created_at)
    sweep_due_messages_task()
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 2
    assert len(smsc.sent) == 1


def test_insufficient_funds_fails_over_to_the_next_provider(smsc, tenant, settings,
                                                             django_capture_on_commit_callbacks):
    settings.SMS_FALLBACK_PROVIDERS = ["memory"]
    smsc.fail_next(smsc_error(3, 1))
    message = send(tenant, django_capture_on_commit_callbacks)
    assert (message.status, message.provider) == ("sent", "memory")
    assert len(MemoryProvider.outbox) == 1
    attempt = message.events.filter(kind="attempt", provider="smsc").get()
    assert (attempt.ok, attempt.error_code) == (False, "3")


@pytest.mark.parametrize(("code", "error_class"), [
    (1, PermanentProviderError), (2, ProviderAuthError), (3, TransientProviderError),
    (4, TransientProviderError), (5, PermanentProviderError), (6, PermanentProviderError),
    (7, PermanentProviderError), (8, PermanentProviderError), (9, RateLimitedError), (42, TransientProviderError),
])
def test_each_error_code_maps_to_its_kind(code, error_class):
    error = error_from({"error": "x", "error_code": code})
    assert type(error) is error_class and error.code == str(code)


def test_an_unreachable_smsc_is_transient(smsc, tenant, settings, django_capture_on_commit_callbacks):
    settings.SMSC_BASE_URL = "http://127.0.0.1:9"
    message = send(tenant, django_capture_on_commit_callbacks)
    assert message.status == "queued" and "unreachable" in message.error_message


def test_a_slow_smsc_times_out_and_is_transient(smsc, tenant, settings, django_capture_on_commit_callbacks):
    settings.PROVIDER_HTTP_TIMEOUT = 0.3
    smsc.fail_next(Reply(200, {"id": 1, "cnt": 1}, delay=1.0))
    message = send(tenant, django_capture_on_commit_callbacks)
    assert message.status == "queued" and "timed out" in message.error_message


def test_the_shared_session_keeps_no_cookies_between_requests(smsc):
    provider = get_provider("smsc")
    smsc.fail_next(Reply(200, {"balance": "1.00"}, headers={"Set-Cookie": "session=tenant-a; Path=/"}))
    provider.balance()
    provider.balance()
    assert "Cookie" not in smsc.requests[1].headers


def test_status_is_queried_with_phone_and_id(smsc, tenant, django_capture_on_commit_callbacks):
    message = send(tenant, django_capture_on_commit_callbacks)
    provider = get_provider("smsc")
    assert provider.fetch_status(message.provider_message_id).status == "sent"
    smsc.set_status(message.pk, 1)
    update = provider.fetch_status(message.provider_message_id)
    assert (update.status, update.error_code) == ("delivered", "")
    assert update.occurred_at is not None
    request = smsc.requests[-1]
    assert request.path == "/sys/status.php"
    assert request.form == {"login": ["smsgate-test"], "psw": ["test-password"], "fmt": ["3"],
                            "phone": ["79991234567"], "id": [str(message.pk)]}
    smsc.set_status(message.pk, 20, err=11)
    assert provider.fetch_status(message.provider_message_id).error_code == "11"
    assert provider.fetch_status("999:79991234567") is None  # SMSC: -3, not found
    assert provider.fetch_status("SM123") is None  # not an SMSC id


def test_balance_comes_from_balance_php(smsc):
    balance = get_provider("smsc").balance()
    assert (balance.amount, balance.currency) == (Decimal("84.75"), "RUB")
    [request] = smsc.requests
    assert request.path == "/sys/balance.php"
    assert request.form == {"login": ["smsgate-test"], "psw": ["test-password"], "fmt": ["3"], "cur": ["1"]}


def test_wrong_credentials_are_an_auth_error(smsc, settings):
    settings.SMSC_PASSWORD = "wrong"
    with pytest.raises(ProviderAuthError):
        get_provider("smsc").balance()


def callback(params, secret=SMSC_WEBHOOK_SECRET, **extra):
    query = f"?secret={secret}" if secret is not None else ""
    return Client().post(CALLBACK + query, params, **extra)


def test_a_delivery_callback_with_the_secret_marks_the_message_delivered(smsc, tenant,
                                                                         django_capture_on_commit_callbacks):
    message = send(tenant, django_capture_on_commit_callbacks)
    smsc.set_status(message.pk, 1)
    assert callback(smsc.callback_params(message.pk)).status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered" and message.delivered_at is not None
    assert ProviderCallback.objects.get().matched


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_json_callback_is_understood(smsc, tenant, content_type, django_capture_on_commit_callbacks):
    message = send(tenant, django_capture_on_commit_callbacks)
    smsc.set_status(message.pk, 20, err=1)
    body = json.dumps(smsc.callback_params(message.pk))
    response = Client().post(f"{CALLBACK}?secret={SMSC_WEBHOOK_SECRET}&fmt=3", body, content_type=content_type)
    assert response.status_code == 200
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("undelivered", "1")


@pytest.mark.parametrize("secret", ["wrong", "", None])
def test_a_callback_without_the_right_secret_is_403_and_changes_nothing(smsc, tenant, secret,
                                                                        django_capture_on_commit_callbacks):
    message = send(tenant, django_capture_on_commit_callbacks)
    smsc.set_status(message.pk, 1)
    assert callback(smsc.callback_params(message.pk), secret=secret).status_code == 403
    message.refresh_from_db()
    assert message.status == "sent"
    assert ProviderCallback.objects.count() == 0


def test_callbacks_are_refused_while_no_secret_is_configured(smsc, tenant, settings,
                                                             django_capture_on_commit_callbacks):
    message = send(tenant, django_capture_on_commit_callbacks)
    settings.SMSC_WEBHOOK_SECRET = ""
    assert callback(smsc.callback_params(message.pk), secret="").status_code == 403
