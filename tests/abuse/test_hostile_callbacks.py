"""Hostile-input sweep over every carrier's delivery and inbound callbacks: never a 5xx, and a refusal changes nothing.

Each case starts from an authentic callback for a message the carrier really
carried (tests/fakes/callback.py builds it the carrier's way), puts one
hostile value where the backend reads a field (nesting, wrong JSON types,
NUL, unpaired surrogates, overlong values, out-of-range numbers and dates) or
replaces the whole body, and posts it with and without valid credentials.

A hostile value never applies a receipt or opts anybody out. Refused
callbacks (4xx) store nothing; Aircall, which re-posts refused webhooks and
then disables them, gets 200 and the raw body is stored as unusable.
"""

import copy
import json

import pytest

from providers.registry import PROVIDERS, provider_class
from smsgate.input_safety import unstorable
from smsgate.models import Message, OptOut, ProviderCallback
from tests.fakes.callback import CARRIER_CALLBACKS, Callback
from tests.sending import gateway_send

pytestmark = pytest.mark.django_db

# Where each backend reads the fields a hostile value goes into: role -> the fields (paths into the body) set to it.
READ_FIELDS = {
    ("twilio", "delivery"): {"id": [("MessageSid",), ("SmsSid",)], "status": [("MessageStatus",), ("SmsStatus",)],
                             "error": [("ErrorCode",)]},
    ("twilio", "inbound"): {"id": [("MessageSid",)], "phone": [("From",)], "body": [("Body",)],
                            "recipient": [("To",)]},
    ("smsc", "delivery"): {"id": [("id",)], "phone": [("phone",)], "status": [("status",)], "time": [("ts",)],
                           "error": [("err",)]},
    ("spothit", "delivery"): {"id": [("id_message",)], "status": [("statut",)], "time": [("date_update",)],
                              "error": [("statut_code",)]},
    ("aircall", "delivery"): {"id": [("data", "id")], "status": [("data", "status")], "event": [("event",)],
                              "data": [("data",)]},
    ("aircall", "inbound"): {"id": [("data", "id")], "phone": [("data", "raw_digits")], "body": [("data", "body")],
                             "recipient": [("data", "number")], "data": [("data",)]},
}
TEXT_VALUES = {
    "nul": "12\x00",
    "surrogate": "12\ud800",
    "overlong": "9" * 101,
    "huge": "9" * 10_000,
    "out-of-range": "99999999999999",
    "negative-huge": "-" + "9" * 30,
    "float-overflow": "1e309",
    "bidi-and-escape": "\u202e\x1b[31m",
}
JSON_VALUES = {  # only a JSON body can carry these
    "object": {"$gt": ""},
    "list": [1, 2],
    "true": True,
    "float": 1.5,
    "huge-int": 10 ** 30,
    "nested": json.loads("[" * 10 + "]" * 10),
}


def hostile_values(case) -> dict:
    return {**TEXT_VALUES, **(JSON_VALUES if case.json_body else {})}


FIELD_CASES = [pytest.param(case, kind, role, id=f"{case!r}-{kind}-{role}")
               for case in CARRIER_CALLBACKS for kind in case.kinds for role in READ_FIELDS[(case.name, kind)]]


def whole_bodies(secret: str) -> dict[str, tuple[bytes | str, str]]:
    """Bodies that are hostile as a whole; `secret` goes where a token can be read, if anywhere."""
    deep = "[" * 1000 + "]" * 1000
    return {
        "json-1000-deep": (deep, "application/json"),
        "json-100000-deep": ("[" * 100_000 + "]" * 100_000, "application/json"),
        "token-beside-deep-data": (f'{{"token": {json.dumps(secret)}, "data": {deep}}}', "application/json"),
        "token-beside-nan": (f'{{"token": {json.dumps(secret)}, "timestamp": NaN, "data": {{}}}}', "application/json"),
        "token-in-a-list": (json.dumps([{"token": secret}]), "application/json"),
        "not-utf-8": (b"\xff\xfe\x00\x00" + b"\xc3(" * 50, "application/json"),
        "form-not-utf-8": (b"MessageSid=%ff%fe&id=%c3%28&id_message=%ed%a0%80", "application/x-www-form-urlencoded"),
        "form-nul-names": ("%00=%00&data[%00]=1", "application/x-www-form-urlencoded"),
        "empty": (b"", "application/json"),
    }


def set_path(fields: dict, path: tuple[str, ...], value) -> None:
    target = fields
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value


def carry(request, case, kind, body: str = "hello"):
    """(its fake, a message the carrier really carried, an authentic `kind` callback's fields for it).

    A reply says `body`: by default no keyword, so a reply with hostile values has nothing to apply.
    """
    fake = request.getfixturevalue(case.name)
    message = gateway_send(case.phone)
    return fake, message, case.fields(kind, fake, message, body=body)


def state(message: Message) -> tuple:
    """The message with its events, and every opt-out."""
    return (Message.objects.filter(pk=message.pk).values().get(), list(message.events.values("kind", "status")),
            list(OptOut.objects.values()))


def post(callback: Callback):
    return callback.post(raise_request_exception=False)


def assert_harmless(response, message: Message, before, *, label: str, may_apply: bool = False) -> None:
    """No 5xx; a refusal stores and changes nothing; accepted, it applies nothing unless `may_apply`.

    (An error code is not what identifies a receipt: one that fits its column is the carrier's word.)
    """
    assert response.status_code < 500, (label, response.content[:300])
    if response.status_code >= 400 or not may_apply:
        assert state(message) == before, f"{label}: a hostile callback applied a receipt or an opt-out"
    if response.status_code >= 400:
        assert not ProviderCallback.objects.exists(), f"{label}: a refused callback was stored"


@pytest.mark.parametrize(("case", "kind", "role"), FIELD_CASES)
@pytest.mark.parametrize("authentic", [True, False], ids=["valid-auth", "no-auth"])
def test_hostile_fields_are_refused_or_stored_unusable_never_a_500(request, settings, case, kind, role, authentic):
    _, message, authentic_fields = carry(request, case, kind)
    secret = case.platform_secret(settings) if authentic else "wrong-secret"
    for label, value in hostile_values(case).items():
        fields = copy.deepcopy(authentic_fields)
        for path in READ_FIELDS[(case.name, kind)][role]:
            set_path(fields, path, value)
        before = state(message)
        response = post(case.build(kind, fields, secret=secret))
        assert_harmless(response, message, before, label=label, may_apply=role == "error")
        if not authentic:
            assert response.status_code == 403, label
            continue
        assert response.status_code in (200, 400), f"{label}: a validly authenticated callback reaches its parser"
        if response.status_code == 400:
            assert response.json()["errors"], f"{label}: a refusal names the fields it refused"
        ProviderCallback.objects.all().delete()  # the next value starts from nothing stored


WHOLE_BODY_CASES = [(case, kind) for case in CARRIER_CALLBACKS for kind in case.kinds]


@pytest.mark.parametrize(("case", "kind"), WHOLE_BODY_CASES, ids=[f"{c!r}-{k}" for c, k in WHOLE_BODY_CASES])
@pytest.mark.parametrize("authentic", [True, False], ids=["valid-auth", "no-auth"])
def test_hostile_bodies_are_refused_never_a_500(request, settings, case, kind, authentic):
    _, message, _ = carry(request, case, kind)
    secret = case.platform_secret(settings) if authentic else "wrong-secret"
    # The carrier's own way of carrying the secret (a signature over no form fields, a URL secret) around each body.
    envelope = case.build(kind, {}, secret=secret)
    for label, (body, content_type) in whole_bodies(secret).items():
        before = state(message)
        response = post(Callback(envelope.path, body, content_type, envelope.headers))
        assert_harmless(response, message, before, label=label)
        if not authentic:
            assert response.status_code == 403, label


@pytest.mark.parametrize(("case", "kind"), WHOLE_BODY_CASES, ids=[f"{c!r}-{k}" for c, k in WHOLE_BODY_CASES])
def test_the_sweeps_authentic_callbacks_are_applied(request, settings, case, kind):
    """The control: each sweep's starting callback, as a STOP, does what it says (so the refusals mean something)."""
    _, message, fields = carry(request, case, kind, body="STOP")
    assert post(case.build(kind, fields, secret=case.platform_secret(settings))).status_code == 200
    if kind == "delivery":
        assert Message.objects.get(pk=message.pk).status in ("failed", "undelivered")
    else:
        assert OptOut.objects.filter(phone=message.to, source="keyword").exists()


NOT_TAKEN = [(provider, kind) for provider in sorted(PROVIDERS) for kind in ("delivery", "inbound")
             if kind not in provider_class(provider).callback_kinds]


@pytest.mark.parametrize(("provider", "kind"), NOT_TAKEN)
def test_callbacks_a_backend_does_not_take_are_404_whatever_the_body(client, provider, kind):
    for label, (body, content_type) in whole_bodies("anything").items():
        response = client.post(f"/api/v1/sms/{kind}/{provider}?secret=x", body, content_type=content_type)
        assert response.status_code == 404, label
    assert not ProviderCallback.objects.exists()


@pytest.mark.parametrize("query", ["tenant=%00", "tenant=" + "a" * 5000, "tenant=%ed%a0%80", "tenant=nosuch"])
def test_a_hostile_tenant_in_the_url_is_404(client, query):
    assert client.post(f"/api/v1/sms/delivery/twilio?{query}", {}).status_code == 404


@pytest.mark.parametrize("value", ["\x00", "\ud800", "x" * 5000])
def test_unread_fields_with_hostile_values_are_kept_escaped_and_the_receipt_still_applies(request, settings, value):
    case = next(c for c in CARRIER_CALLBACKS if c.name == "twilio")
    _, message, fields = carry(request, case, "delivery")
    fields = {**fields, "FromCity": value, "X\x00Name": "1"}
    assert post(case.build("delivery", fields, secret=case.platform_secret(settings))).status_code == 200
    assert Message.objects.get(pk=message.pk).status == "failed"
    stored = ProviderCallback.objects.get().payload["raw"]
    assert stored["FromCity"] and not unstorable(json.dumps(stored, ensure_ascii=False))


def test_an_unusable_aircall_webhook_is_answered_200_and_kept_raw_once(request, settings):
    """Aircall re-posts webhooks we refuse and disables them after a while: take it, and keep it to read."""
    case = next(c for c in CARRIER_CALLBACKS if c.name == "aircall")
    _, message, fields = carry(request, case, "delivery")
    set_path(fields, ("data", "id"), "9" * 101)
    callback = case.build("delivery", fields, secret=case.platform_secret(settings))
    assert post(callback).status_code == 200 and post(callback).status_code == 200  # and its retry
    stored = ProviderCallback.objects.get()
    assert stored.problem == "provider_message_id: longer than 100 characters" and not stored.matched
    assert json.loads(stored.payload["body"])["data"]["id"] == "9" * 101
    assert Message.objects.get(pk=message.pk).status == "sent"
