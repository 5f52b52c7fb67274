"""WebSMS.by wire details: the exact form, price/parts/amount, errors inside HTTP 200, balance."""

from decimal import Decimal

import pytest

from providers.base import PermanentProviderError, ProviderAuthError, RateLimitedError, TransientProviderError
from providers.registry import get_provider
from tests.fakes.server import Reply
from tests.sending import gateway_send, unsaved

pytestmark = pytest.mark.django_db
PHONE = "+375291234567"


def test_the_send_is_a_form_post_with_webs_ms_parameter_names(websms):
    message = gateway_send(PHONE)
    [request] = websms.requests
    assert (request.method, request.path, request.query) == ("POST", "/api/send/sms", {})  # no apikey in the URL
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["User-Agent"] == "smsgate"
    assert request.form == {"user": [websms.user], "apikey": [websms.apikey], "msisdn": ["375291234567"],
                            "text": [message.body], "sender": ["Enterprise"], "custom_id": [str(message.pk)]}
    assert message.provider_message_id == str(websms.sent[0]["message_id"])


def test_price_is_the_amount_for_all_parts_and_the_part_price_is_kept(websms):
    result = get_provider("websms").send(unsaved(PHONE, "x" * 200))  # two GSM-7 parts
    assert (result.segments, result.price, result.price_unit) == (2, Decimal("0.029464"), "BYN")
    assert (result.raw["price"], result.raw["parts"], result.raw["amount"]) == (0.014732, 2, 0.029464)


def test_the_message_log_keeps_price_parts_and_amount(websms):
    message = gateway_send(PHONE, "x" * 200)
    # Message.price keeps 5 decimals; the exact amount and the per-part price stay in the attempt.
    assert (message.segments, message.price, message.price_unit) == (2, Decimal("0.02946"), "BYN")
    attempt = message.events.get(kind="attempt")
    assert (attempt.raw["price"], attempt.raw["parts"], attempt.raw["amount"]) == (0.014732, 2, 0.029464)


@pytest.mark.parametrize(("answer", "error"), [
    ({"status": False, "code": 1, "message": "Wrong login"}, ProviderAuthError),
    ({"status": False, "error": {"code": 2, "message": "Wrong apikey"}}, ProviderAuthError),
    ({"status": False, "error": 3, "message": "Server error"}, TransientProviderError),
    ({"status": False, "code": 4, "message": "Validation error"}, PermanentProviderError),
    ({"status": False, "error": "text too long"}, PermanentProviderError),
])
def test_errors_inside_http_200_are_mapped(websms, answer, error):
    websms.fail_next(Reply(200, answer))
    with pytest.raises(error) as caught:
        get_provider("websms").send(unsaved(PHONE))
    assert type(caught.value) is error


@pytest.mark.parametrize(("reply", "error"), [
    (Reply(200, "<html>maintenance</html>"), TransientProviderError),
    (Reply(429, "slow down"), RateLimitedError),
    (Reply(403, "forbidden"), ProviderAuthError),
])
def test_odd_http_answers_are_mapped(websms, reply, error):
    websms.fail_next(reply)
    with pytest.raises(error):
        get_provider("websms").send(unsaved(PHONE))


def test_an_unaccepted_number_fails_the_message_with_the_carriers_code(websms):
    message = gateway_send("+375297777777")
    assert (message.status, message.error_code) == ("failed", "4")
    assert "Validation error" in message.error_message


def test_balance_is_the_sms_balance_in_byn(websms, settings):
    balance = get_provider("websms").balance()
    assert (balance.amount, balance.currency, balance.extra) == (Decimal("39.17"), "BYN", {"viber": 0})
    [request] = websms.requests
    assert (request.method, request.path) == ("GET", "/api/balances")
    settings.WEBSMS_USER = "someone-else"
    with pytest.raises(ProviderAuthError):
        get_provider("websms").balance()


def test_an_unreachable_carrier_error_names_the_host_but_not_the_apikey(websms, settings):
    settings.WEBSMS_BASE_URL = "http://127.0.0.1:9"  # the balance query carries user and apikey in its URL
    with pytest.raises(TransientProviderError) as caught:
        get_provider("websms").balance()
    assert "127.0.0.1:9" in str(caught.value) and websms.apikey not in str(caught.value)
