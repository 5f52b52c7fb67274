"""Chunghwa emome wire details: Big5 forms, the UTF-16 hex path, number format, codes, QuerySM."""

from urllib.parse import quote

import pytest

from providers.base import PermanentProviderError, ProviderAuthError, RateLimitedError, TransientProviderError
from providers.chunghwa import encode_body
from providers.registry import get_provider
from smsgate.models import ProviderAccount, ProviderCallback, Tenant
from smsgate.sending.tasks import poll_delivery_statuses_task
from tests.fakes.chunghwa import FakeChunghwa, page
from tests.fakes.server import Reply
from tests.sending import gateway_send, unsaved

pytestmark = pytest.mark.django_db
PHONE = "+886912345678"


def test_chinese_text_goes_as_big5_bytes_in_the_form(chunghwa):
    body = "您好，您的驗證碼是 123456"
    message = gateway_send(PHONE, body)
    [request] = chunghwa.requests
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=Big5"
    assert quote(body.encode("big5")).encode() in request.body.replace(b"+", b"%20")
    form = FakeChunghwa.form(request)
    assert form == {"account": chunghwa.account, "password": chunghwa.password, "from_addr_type": "0",
                    "from_addr": "0911000111", "to_addr_type": "0", "to_addr": "0912345678",
                    "msg_expire_time": "0", "msg_type": "0", "msg": body}
    [sent] = chunghwa.messages.values()
    assert message.provider_message_id == "0912345678|H000000001" and sent["text"] == body


def test_text_big5_cannot_hold_goes_as_utf16_hex(chunghwa):
    body = "Hi 😀 ок"
    assert encode_body(body) == ("2", "004800690020D83DDE000020043E043A")
    gateway_send(PHONE, body)
    [sent] = chunghwa.messages.values()
    assert (sent["msg_type"], sent["msg"], sent["text"]) == ("2", "004800690020D83DDE000020043E043A", body)


def test_only_taiwan_mobiles_are_sent_and_others_fail_before_sending(chunghwa):
    with pytest.raises(PermanentProviderError):
        get_provider("chunghwa").send(unsaved("+14155550123"))
    with pytest.raises(PermanentProviderError):
        get_provider("chunghwa").send(unsaved("+886223456789"))  # a Taipei landline
    assert chunghwa.requests == []


def test_chinese_text_over_70_characters_is_refused_before_sending(chunghwa):
    provider = get_provider("chunghwa")
    with pytest.raises(PermanentProviderError) as caught:
        provider.send(unsaved(PHONE, "簡" * 71))
    assert "70" in str(caught.value) and chunghwa.requests == []
    with pytest.raises(PermanentProviderError):
        provider.send(unsaved(PHONE, "😀" * 36))  # 72 UTF-16 units
    assert chunghwa.requests == []
    provider.send(unsaved(PHONE, "簡" * 70))
    provider.send(unsaved(PHONE, "😀" * 35))
    assert len(chunghwa.requests) == 2


@pytest.mark.parametrize(("code", "error"), [
    ("33", RateLimitedError), ("32", TransientProviderError), ("-1", TransientProviderError),
    ("23", ProviderAuthError), ("24", ProviderAuthError),
    *[(code, PermanentProviderError) for code in ("9", "11", "12", "18", "48")],
])
def test_submit_codes_are_mapped(chunghwa, code, error):
    chunghwa.fail_next(page("0912345678", code, "", "錯誤"))
    with pytest.raises(error) as caught:
        get_provider("chunghwa").send(unsaved(PHONE))
    assert type(caught.value) is error and caught.value.code == code


def test_an_answer_without_a_result_line_is_transient(chunghwa):
    chunghwa.fail_next(Reply(200, b"<html><body>Service Temporarily Unavailable</body></html>"))
    with pytest.raises(TransientProviderError):
        get_provider("chunghwa").send(unsaved(PHONE))


@pytest.mark.parametrize(("code", "status", "error_code"), [
    ("1", "sent", ""), ("0", "delivered", ""), ("3", "undelivered", "3"), ("9", "failed", "9"),
])
def test_delivery_status_is_polled_with_querysm(chunghwa, code, status, error_code):
    message = gateway_send(PHONE)
    message_id = message.provider_message_id.split("|")[1]
    chunghwa.statuses[message_id] = code
    update = get_provider("chunghwa").fetch_status(message.provider_message_id)
    assert (update.status, update.error_code) == (status, error_code)
    query = FakeChunghwa.form(chunghwa.requests[-1])
    assert chunghwa.requests[-1].path == "/imsp/sms/servlet/QuerySM"
    assert (query["to_addr"], query["messageid"]) == ("0912345678", message_id)


def test_an_unknown_message_polls_as_no_news(chunghwa):
    assert get_provider("chunghwa").fetch_status("0912345678|H999") is None


def test_the_poller_applies_querysm_answers_once_and_forward_only(chunghwa):
    message = gateway_send(PHONE)
    message_id = message.provider_message_id.split("|")[1]
    assert poll_delivery_statuses_task() == 1  # "in transit": stored, nothing to move
    assert poll_delivery_statuses_task() == 0  # the same answer again is not news
    chunghwa.statuses[message_id] = "0"
    assert poll_delivery_statuses_task() == 1
    message.refresh_from_db()
    assert message.status == "delivered"
    assert ProviderCallback.objects.filter(provider="chunghwa").count() == 2
    before = len(chunghwa.requests)
    poll_delivery_statuses_task()
    assert len(chunghwa.requests) == before  # delivered messages are not asked about again


def test_polled_answers_apply_to_a_message_sent_through_a_tenants_own_account(chunghwa):
    credentials = {"account_id": chunghwa.account, "password": chunghwa.password}
    account = ProviderAccount.objects.create(tenant=Tenant.objects.get(slug="default"), provider="chunghwa",
                                             credentials=credentials)
    message = gateway_send(PHONE)
    assert message.provider_account_id == account.pk
    chunghwa.statuses[message.provider_message_id.split("|")[1]] = "0"
    assert poll_delivery_statuses_task() == 1
    message.refresh_from_db()
    assert message.status == "delivered"
    assert ProviderCallback.objects.get().provider_account_id == account.pk


def test_the_poller_stops_for_this_round_when_cht_struggles(chunghwa):
    first, second = gateway_send(PHONE), gateway_send(PHONE, "second")
    chunghwa.fail_next(Reply(503, b"busy"))
    assert poll_delivery_statuses_task() == 0
    assert [r.path for r in chunghwa.requests].count("/imsp/sms/servlet/QuerySM") == 1
    assert poll_delivery_statuses_task() == 2  # next round asks about both
    polled = set(ProviderCallback.objects.values_list("provider_message_id", flat=True))
    assert polled == {first.provider_message_id, second.provider_message_id}


def test_a_message_cht_cannot_answer_for_does_not_block_the_others(chunghwa):
    first, second = gateway_send(PHONE), gateway_send(PHONE, "second")
    chunghwa.fail_next(page("0912345678", "21", "", "Message id 格式錯誤"))
    assert poll_delivery_statuses_task() == 1
    polled = set(ProviderCallback.objects.values_list("provider_message_id", flat=True))
    assert len(polled) == 1 and polled < {first.provider_message_id, second.provider_message_id}


def test_what_cht_cannot_carry_goes_to_the_next_provider(chunghwa, twilio, settings):
    settings.SMS_PRIMARY_PROVIDER, settings.SMS_FALLBACK_PROVIDERS = "chunghwa", ["twilio"]
    abroad = gateway_send("+14155550123")
    too_long = gateway_send(PHONE, "簡" * 71)
    assert [(m.status, m.provider) for m in (abroad, too_long)] == [("sent", "twilio"), ("sent", "twilio")]
    assert chunghwa.requests == [] and len(twilio.requests) == 2


def test_what_no_provider_can_carry_fails_with_the_reason(chunghwa):
    message = gateway_send("+14155550123")
    assert message.status == "failed" and "only to Taiwan mobile numbers" in message.error_message
    assert chunghwa.requests == []
