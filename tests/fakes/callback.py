"""Callbacks fake carriers make to smsgate, replayed through Django's test client.

`Callback` is one request. `CARRIER_CALLBACKS` builds, for every carrier that
pushes callbacks, an authentic one from its fields and a secret (the
carrier's signature, URL secret or token) exactly as that carrier encodes
it, so tests can send it as is, with hostile values, or with another
account's credentials.
"""

import json
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

GATEWAY = "https://gateway.example.com"  # PUBLIC_BASE_URL in tests


@dataclass
class Callback:
    path: str  # with its query string
    body: bytes | str = b""
    content_type: str = "application/x-www-form-urlencoded"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def form(cls, path: str, params: dict[str, str], **kwargs) -> "Callback":
        return cls(path, urlencode(params), **kwargs)

    def post(self, *, raise_request_exception: bool = True):
        """The response; with raise_request_exception=False a server error is a 500 response, as a carrier sees it."""
        from django.test import Client

        return Client(raise_request_exception=raise_request_exception).post(
            self.path, self.body, content_type=self.content_type, headers=self.headers)


def form_body(params: dict[str, str]) -> str:
    """A form as UTF-8 bytes, percent-encoded; an unpaired surrogate goes as its (invalid) UTF-8 bytes."""
    def encoded(text: str) -> str:
        return quote(text.encode("utf-8", "surrogatepass"), safe="")

    return "&".join(f"{encoded(name)}={encoded(value)}" for name, value in params.items())


def as_received(params: dict[str, str]) -> dict[str, str]:
    """The form as a server decodes it (invalid UTF-8 replaced), which is what a carrier's signature covers."""
    return {name: value.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for name, value in params.items()}


def with_query(path: str, query: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{query}" if query else path


class CarrierCallbacks:
    """How one carrier posts its callbacks, and the fields of authentic ones for a message it carried."""

    name: str
    kinds: tuple[str, ...]
    phone: str  # a number it delivers to
    secret_setting: str  # the platform's setting holding the callback secret
    account_key: str  # the ProviderAccount credential holding a tenant's own secret
    identity: dict[str, str]  # the credentials that make an account (ProviderAccount key -> the platform's setting)
    json_body = False  # posts JSON (which can carry wrong types), not a form

    def path(self, kind: str, query: str = "") -> str:
        return with_query(f"/api/v1/sms/{kind}/{self.name}", query)

    def platform_secret(self, settings) -> str:
        return getattr(settings, self.secret_setting)

    def account_credentials(self, settings, secret: str) -> dict[str, str]:
        """A tenant's own account at the fake (which knows one login: the platform's), with its own callback secret."""
        return {**{key: getattr(settings, setting) for key, setting in self.identity.items()}, self.account_key: secret}

    def fields(self, kind: str, fake, message, body: str = "STOP") -> dict:
        """An authentic receipt failing `message`, or a reply from its recipient saying `body`."""
        raise NotImplementedError

    def build(self, kind: str, fields: dict, *, secret: str, query: str = "") -> Callback:
        raise NotImplementedError

    def __repr__(self):
        return self.name


class TwilioCallbacks(CarrierCallbacks):
    name, kinds, phone = "twilio", ("delivery", "inbound"), "+14155550123"
    secret_setting, account_key = "TWILIO_AUTH_TOKEN", "auth_token"
    identity = {"account_sid": "TWILIO_ACCOUNT_SID", "auth_token": "TWILIO_AUTH_TOKEN"}

    def fields(self, kind, fake, message, body="STOP"):
        if kind == "delivery":
            return fake.callback_params(message.provider_message_id, "failed", "30003")
        return {"MessageSid": "SM" + "7" * 32, "From": message.to, "To": "+15005550006", "Body": body,
                "AccountSid": fake.account_sid, "NumMedia": "0"}

    def build(self, kind, fields, *, secret, query=""):
        from tests.fakes.twilio import sign

        path = self.path(kind, query)
        headers = {"X-Twilio-Signature": sign(GATEWAY + path, as_received(fields), secret)} if secret else {}
        return Callback(path, form_body(fields), headers=headers)


class SmscCallbacks(CarrierCallbacks):
    """SMSC posts a form, or JSON when its handler URL asks for fmt=3 (`json_body=True`)."""

    name, kinds, phone = "smsc", ("delivery",), "+79991234567"
    secret_setting, account_key = "SMSC_WEBHOOK_SECRET", "webhook_secret"
    identity = {"login": "SMSC_LOGIN", "password": "SMSC_PASSWORD"}

    def __init__(self, json_body: bool = False):
        self.json_body = json_body

    def fields(self, kind, fake, message, body="STOP"):
        smsc_id = int(message.provider_message_id.partition(":")[0])
        fake.set_status(smsc_id, 20, err=1)  # undeliverable
        return fake.callback_params(smsc_id)

    def build(self, kind, fields, *, secret, query=""):
        path = with_query(self.path(kind, query), f"secret={quote(secret)}" if secret else "")
        if self.json_body:
            return Callback(path, json.dumps(fields), "application/json")
        return Callback(path, form_body(fields))

    def __repr__(self):
        return "smsc-json" if self.json_body else "smsc"


class SpotHitCallbacks(CarrierCallbacks):
    name, kinds, phone = "spothit", ("delivery",), "+33612345678"
    secret_setting, account_key = "SPOTHIT_WEBHOOK_SECRET", "webhook_secret"
    identity = {"api_key": "SPOTHIT_API_KEY"}

    def fields(self, kind, fake, message, body="STOP"):
        campaign_id = int(message.provider_message_id)
        number = next(iter(fake.campaigns[campaign_id]["recipients"]))
        return {"id_accuse": f"{campaign_id}{number[-4:]}", "id_message": str(campaign_id), "numero": number,
                "statut": "4", "date_envoi": "1732622896", "date_update": "1732622956", "statut_code": "12",
                "nom": "smsgate"}

    def build(self, kind, fields, *, secret, query=""):
        return Callback(with_query(self.path(kind, query), f"secret={quote(secret)}" if secret else ""),
                        form_body(fields))


class AircallCallbacks(CarrierCallbacks):
    name, kinds, phone = "aircall", ("delivery", "inbound"), "+33612345678"
    secret_setting, account_key = "AIRCALL_WEBHOOK_TOKEN", "webhook_token"
    identity = {"api_id": "AIRCALL_API_ID", "api_token": "AIRCALL_API_TOKEN", "number_id": "AIRCALL_NUMBER_ID"}
    json_body = True

    def fields(self, kind, fake, message, body="STOP"):
        if kind == "delivery":
            data = {**fake.messages[message.provider_message_id], "status": "failed"}
            return {"resource": "message", "event": "message.status_updated", "timestamp": 1732622896, "data": data}
        data = {"id": "7" * 12, "direction": "inbound", "body": body, "status": "received",
                "raw_digits": message.to, "number": {"id": int(fake.number_id), "digits": "+33 1 76 34 00 00"}}
        return {"resource": "message", "event": "message.received", "timestamp": 1732622896, "data": data}

    def build(self, kind, fields, *, secret, query=""):
        return Callback(self.path(kind, query), json.dumps({**fields, "token": secret}), "application/json")


CARRIER_CALLBACKS = [TwilioCallbacks(), SmscCallbacks(), SmscCallbacks(json_body=True), SpotHitCallbacks(),
                     AircallCallbacks()]
