"""The contract every carrier backend passes, each against its loopback fake.

Sends go through the real road (submit -> dispatch -> backend -> fake);
callbacks are posted to the real /api/v1/sms/delivery|inbound/<provider> URLs.
Per-carrier wire details live in tests/test_<carrier>.py.
"""

import base64
from dataclasses import replace
from decimal import Decimal

import pytest
from django.test import Client

from providers.base import (
    Balance,
    PermanentProviderError,
    ProviderAuthError,
    TransientProviderError,
)
from providers.registry import get_provider
from smsgate.models import Message, OptOut, ProviderCallback
from smsgate.sending.submit import PolicyRefused
from tests.conftest import SMSC_WEBHOOK_SECRET
from tests.fakes.callback import Callback, SmscCallbacks
from tests.fakes.chunghwa import FakeChunghwa
from tests.fakes.server import Reply
from tests.fakes.twilio import FROM_NUMBER, sign
from tests.sending import gateway_send, submit_one, unsaved

pytestmark = pytest.mark.django_db
GATEWAY = "https://gateway.example.com"  # PUBLIC_BASE_URL in tests


class Carrier:
    """What the contract needs to know about one carrier and its fake."""

    name: str
    phone: str  # a number the carrier delivers to
    invalid_phone: str  # a well-formed number the carrier refuses
    credential_setting: str  # a wrong value here is refused by the carrier
    base_url_setting: str
    has_balance = True
    callback_secret_setting = ""  # what authenticates its pushes; "" = it pushes nothing
    pushes_replies = False

    def check_wire(self, fake, message: Message) -> None:
        raise NotImplementedError

    def receipt(self, fake, message: Message, status: str) -> Callback:
        raise NotImplementedError

    def forged_receipts(self, fake, message: Message) -> list[Callback]:
        raise NotImplementedError

    def reply(self, fake, message: Message, body: str, reply_id: str, secret: str | None = None) -> Callback:
        raise NotImplementedError

    def __repr__(self):
        return self.name


class Twilio(Carrier):
    name, phone, invalid_phone = "twilio", "+14155550123", "+15005550001"
    credential_setting, base_url_setting = "TWILIO_AUTH_TOKEN", "TWILIO_API_BASE_URL"
    callback_secret_setting, pushes_replies = "TWILIO_AUTH_TOKEN", True

    def check_wire(self, fake, message):
        [request] = fake.requests
        assert request.path == f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
        assert (request.form["To"], request.form["Body"]) == ([message.to], [message.body])

    @staticmethod
    def _signed(path: str, params: dict, token: str) -> Callback:
        headers = {"X-Twilio-Signature": sign(GATEWAY + path, params, token)} if token else {}
        return Callback.form(path, params, headers=headers)

    def receipt(self, fake, message, status, token=None):
        params = fake.callback_params(message.provider_message_id, status)
        return self._signed("/api/v1/sms/delivery/twilio", params, fake.auth_token if token is None else token)

    def forged_receipts(self, fake, message):
        authentic = self.receipt(fake, message, "delivered")
        tampered = replace(authentic, body=authentic.body.replace("delivered", "failed"))
        return [self.receipt(fake, message, "delivered", token=""),
                self.receipt(fake, message, "delivered", token="wrong"), tampered]

    def reply(self, fake, message, body, reply_id, secret=None):
        params = {"MessageSid": reply_id, "From": message.to, "To": FROM_NUMBER, "Body": body,
                  "AccountSid": fake.account_sid, "NumMedia": "0"}
        return self._signed("/api/v1/sms/inbound/twilio", params, fake.auth_token if secret is None else secret)


class Smsc(Carrier):
    name, phone, invalid_phone = "smsc", "+79161234567", "+79000000000"
    credential_setting, base_url_setting = "SMSC_PASSWORD", "SMSC_BASE_URL"
    callback_secret_setting = "SMSC_WEBHOOK_SECRET"
    STATUS = {"delivered": 1, "sent": 0}

    def check_wire(self, fake, message):
        [request] = fake.requests
        assert (request.method, request.path) == ("POST", "/sys/send.php")
        assert (request.field("phones"), request.field("mes")) == (message.to, message.body)

    def receipt(self, fake, message, status, secret=SMSC_WEBHOOK_SECRET):
        """The push to the handler URL set in the SMSC account (which carries the secret)."""
        smsc_id = int(message.provider_message_id.partition(":")[0])
        fake.set_status(smsc_id, self.STATUS[status])
        return SmscCallbacks().build("delivery", fake.callback_params(smsc_id), secret=secret)

    def forged_receipts(self, fake, message):
        return [self.receipt(fake, message, "delivered", secret=""),
                self.receipt(fake, message, "delivered", secret="wrong")]


class WebSms(Carrier):
    name, phone, invalid_phone = "websms", "+375291234567", "+375297777777"
    credential_setting, base_url_setting = "WEBSMS_APIKEY", "WEBSMS_BASE_URL"

    def check_wire(self, fake, message):
        [request] = fake.requests
        assert (request.method, request.path) == ("POST", "/api/send/sms")
        assert request.field("msisdn") == message.to.lstrip("+") and request.field("text") == message.body


class SpotHit(Carrier):
    name, phone, invalid_phone = "spothit", "+33612345678", "+33600000000"
    credential_setting, base_url_setting = "SPOTHIT_API_KEY", "SPOTHIT_BASE_URL"
    callback_secret_setting = "SPOTHIT_WEBHOOK_SECRET"
    STATUT = {"delivered": 1, "sent": 2}

    def check_wire(self, fake, message):
        [request] = fake.requests
        assert (request.method, request.path) == ("POST", "/api/envoyer/sms")
        assert request.field("destinataires") == "33612345678" and request.field("message") == message.body

    def receipt(self, fake, message, status, url=None):
        return fake.receipt(int(message.provider_message_id), self.STATUT[status], url=url)

    def forged_receipts(self, fake, message):
        path = "/api/v1/sms/delivery/spothit"
        return [self.receipt(fake, message, "delivered", url=path),
                self.receipt(fake, message, "delivered", url=f"{path}?secret=wrong")]


class Aircall(Carrier):
    name, phone, invalid_phone = "aircall", "+33612345678", "+33100000000"
    credential_setting, base_url_setting = "AIRCALL_API_TOKEN", "AIRCALL_BASE_URL"
    has_balance = False
    callback_secret_setting, pushes_replies = "AIRCALL_WEBHOOK_TOKEN", True

    def check_wire(self, fake, message):
        [request] = fake.requests
        assert request.path == f"/v1/numbers/{fake.number_id}/messages/native/send"
        assert request.json() == {"to": message.to, "body": message.body}
        credentials = base64.b64encode(f"{fake.api_id}:{fake.api_token}".encode()).decode()
        assert request.headers["Authorization"] == f"Basic {credentials}"

    def receipt(self, fake, message, status, token=None):
        return fake.status_updated(message.provider_message_id, status, token=token)

    def forged_receipts(self, fake, message):
        return [self.receipt(fake, message, "delivered", token=""),
                self.receipt(fake, message, "delivered", token="wrong")]

    def reply(self, fake, message, body, reply_id, secret=None):
        return fake.received(reply_id, sender=message.to.replace("+33", "+33 "), body=body, token=secret)


class Chunghwa(Carrier):
    name, phone, invalid_phone = "chunghwa", "+886912345678", "+886900000000"
    credential_setting, base_url_setting = "CHT_SMS_PASSWORD", "CHT_SMS_BASE_URL"
    has_balance = False

    def check_wire(self, fake, message):
        [request] = fake.requests
        assert (request.method, request.path) == ("POST", "/imsp/sms/servlet/SubmitSM")
        form = FakeChunghwa.form(request)
        assert (form["to_addr"], form["msg_type"], form["msg"]) == ("0912345678", "0", message.body)


CARRIERS = [Twilio(), Smsc(), WebSms(), SpotHit(), Aircall(), Chunghwa()]
PUSHING_RECEIPTS = [c for c in CARRIERS if c.callback_secret_setting]
PUSHING_REPLIES = [c for c in CARRIERS if c.pushes_replies]
SILENT = [c for c in CARRIERS if not (c.callback_secret_setting and c.pushes_replies)]


@pytest.fixture(params=CARRIERS, ids=repr)
def carrier(request):
    """(carrier, its running fake) with settings pointing the backend at the fake."""
    case = request.param
    return case, request.getfixturevalue(case.name)


def test_a_send_reaches_the_carrier_in_its_wire_format(carrier):
    case, fake = carrier
    message = gateway_send(case.phone)
    assert (message.status, message.provider) == ("sent", case.name)
    assert message.provider_message_id
    case.check_wire(fake, message)


@pytest.mark.parametrize("fault", [Reply(500, b"Internal Server Error"), Reply(503, b"<html>busy</html>")])
def test_a_5xx_is_transient(carrier, fault):
    case, fake = carrier
    fake.fail_next(fault)
    with pytest.raises(TransientProviderError) as caught:
        get_provider(case.name).send(unsaved(case.phone))
    assert not isinstance(caught.value, ProviderAuthError)


def test_a_timeout_is_transient(carrier, settings):
    case, fake = carrier
    settings.PROVIDER_HTTP_TIMEOUT = 0.2
    fake.fail_next(Reply(200, b"", delay=1.0))
    with pytest.raises(TransientProviderError):
        get_provider(case.name).send(unsaved(case.phone))


def test_an_unreachable_carrier_is_transient(carrier, settings):
    case, _ = carrier
    setattr(settings, case.base_url_setting, "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(TransientProviderError):
        get_provider(case.name).send(unsaved(case.phone))


def test_refused_credentials_are_an_auth_error(carrier, settings):
    case, _ = carrier
    setattr(settings, case.credential_setting, "not-the-right-secret")
    with pytest.raises(ProviderAuthError):
        get_provider(case.name).send(unsaved(case.phone))


def test_an_invalid_number_is_permanent(carrier):
    case, _ = carrier
    with pytest.raises(PermanentProviderError):
        get_provider(case.name).send(unsaved(case.invalid_phone))


def test_a_transient_failure_leaves_the_message_queued_for_a_retry(carrier):
    case, fake = carrier
    fake.fail_next(Reply(503, b"busy"))
    message = gateway_send(case.phone)
    assert (message.status, message.attempts) == ("queued", 1)


def test_the_length_limit_is_honoured_before_sending(carrier, settings):
    case, fake = carrier
    limit = get_provider(case.name).max_length
    if limit is None:
        pytest.skip(f"{case.name} documents no length limit")
    settings.SMS_MAX_BODY_CHARS = 5000  # let the core accept it, so the provider's limit decides
    assert gateway_send(case.phone, "x" * limit).status == "sent"
    seen = len(fake.requests)
    too_long = gateway_send(case.phone, "x" * (limit + 1))
    assert too_long.status == "failed" and str(limit) in too_long.error_message
    assert len(fake.requests) == seen


def test_balance_is_a_positive_amount_or_consistently_none(carrier):
    case, fake = carrier
    provider = get_provider(case.name)
    if not case.has_balance:
        assert provider.balance() is None and fake.requests == []
        return
    balance = provider.balance()
    assert isinstance(balance, Balance) and isinstance(balance.amount, Decimal) and balance.amount > 0
    fake.fail_next(Reply(502, b"Bad Gateway"))
    with pytest.raises(TransientProviderError):
        provider.balance()


@pytest.mark.parametrize("carrier", PUSHING_RECEIPTS, indirect=True, ids=repr)
def test_an_authentic_receipt_is_applied_once_and_only_forward(carrier):
    case, fake = carrier
    message = gateway_send(case.phone)
    assert case.receipt(fake, message, "delivered").post().status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered" and message.delivered_at is not None
    assert case.receipt(fake, message, "delivered").post().status_code == 200  # the carrier retried
    assert ProviderCallback.objects.filter(provider=case.name, kind="delivery").count() == 1
    assert case.receipt(fake, message, "sent").post().status_code == 200  # late and out of order
    message.refresh_from_db()
    assert message.status == "delivered"
    assert message.events.filter(kind="receipt").count() == 2


@pytest.mark.parametrize("carrier", PUSHING_RECEIPTS, indirect=True, ids=repr)
def test_forged_receipts_are_403_and_change_nothing(carrier):
    case, fake = carrier
    message = gateway_send(case.phone)
    for forged in case.forged_receipts(fake, message):
        assert forged.post().status_code == 403, forged
    message.refresh_from_db()
    assert message.status == "sent"
    assert not ProviderCallback.objects.exists()


@pytest.mark.parametrize("carrier", PUSHING_RECEIPTS, indirect=True, ids=repr)
def test_receipts_are_refused_when_no_secret_is_configured(carrier, settings):
    case, fake = carrier
    message = gateway_send(case.phone)
    setattr(settings, case.callback_secret_setting, "")
    assert case.receipt(fake, message, "delivered").post().status_code == 403
    assert not ProviderCallback.objects.exists()


@pytest.mark.parametrize("carrier", PUSHING_REPLIES, indirect=True, ids=repr)
def test_a_stop_reply_opts_out_and_blocks_sends_until_start(carrier):
    case, fake = carrier
    message = gateway_send(case.phone)
    assert case.reply(fake, message, " Stop ", "reply-1").post().status_code == 200
    assert OptOut.objects.filter(phone=message.to, source="keyword").exists()
    with pytest.raises(PolicyRefused):
        submit_one(tenant=message.tenant, to=message.to, body="anything")
    assert case.reply(fake, message, " Stop ", "reply-1").post().status_code == 200  # retried: stored once
    assert ProviderCallback.objects.filter(provider=case.name, kind="inbound").count() == 1
    assert case.reply(fake, message, "START", "reply-2").post().status_code == 200
    assert not OptOut.objects.filter(phone=message.to).exists()


@pytest.mark.parametrize("carrier", PUSHING_REPLIES, indirect=True, ids=repr)
def test_forged_replies_are_403_and_opt_nobody_out(carrier):
    case, fake = carrier
    message = gateway_send(case.phone)
    for secret in ("", "wrong"):
        assert case.reply(fake, message, "STOP", "reply-1", secret=secret).post().status_code == 403
    assert not OptOut.objects.exists() and not ProviderCallback.objects.exists()


@pytest.mark.parametrize("carrier", SILENT, indirect=True, ids=repr)
def test_callbacks_a_carrier_never_pushes_are_404(carrier):
    case, _ = carrier
    kinds = [kind for kind, pushes in (("delivery", case.callback_secret_setting), ("inbound", case.pushes_replies))
             if not pushes]
    for kind in kinds:
        assert Client().post(f"/api/v1/sms/{kind}/{case.name}", {"statut": "1"}).status_code == 404
    assert not ProviderCallback.objects.exists()
