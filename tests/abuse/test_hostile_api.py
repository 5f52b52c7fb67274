"""A standing sweep of hostile input over every REST operation: never a 5xx, and a refusal changes nothing.

Each field of a valid request body (nested ones too) is replaced in turn by a hostile value; each query
parameter and path id likewise. A refused request (4xx) must leave no Message, Lead or template behind.
"""

import json
from urllib.parse import quote

import pytest

from leads.models import Lead
from smsgate.models import Message
from templates.models import MessageTemplate, TemplateVariant
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

DEEP = 100_000  # far past Python's recursion limit
NUL = "a\x00b"
SURROGATE = "a\ud800b"

# Valid bodies: every field path in them is made hostile in turn.
BODIES = {
    "/api/v1/sms/send": {"phone": "+5511987654321", "message": "hi", "custom_id": "c1", "message_type": "transactional",
                         "send_at": None, "template_data": {"k": "v"}},
    "/api/v1/sms/bulk": {"messages": [{"phone": "+5511987654321", "message": "hi", "custom_id": "c1"}],
                         "message_type": "transactional", "send_at": None},
    "/api/v1/sms/templates": {"code": "hostile", "name": "Hostile",
                              "variants": [{"label": "A", "body": "hi {name}", "weight": 1}]},
    "/api/v1/leads": {"name": "Ana", "phone": "+5511987654321", "email": "ana@example.com", "channel": "sms",
                      "consent": {"gdpr": True, "marketing": False, "ip": "203.0.113.9", "user_agent": "ua"}},
    "/api/webhooks/test-sms/": {"phone_number": "+5511987654321", "message": "hi"},
}

# Hostile replacements for one field, by kind. The nesting markers are spliced in as raw JSON text.
VALUES = {
    "nesting": ["__DEEP__", "__33_LEVELS__"],
    "wrong types": [[], {}, True, 0, 1.5, "x", None, [None], {"a": {"b": []}}],
    "nul": [NUL, {NUL: "v"}, [NUL]],
    "surrogate": [SURROGATE, {SURROGATE: "v"}, "\udfff"],
    "overlong": ["x" * 100_000, ["x"] * 5_000, {f"k{n}": "v" for n in range(5_000)}],
    "huge numbers": [10**400, -(10**400), 2**63, -(2**63) - 1, 1e308, -1e308, "1" * 5_000],
    "dates": ["9999-12-31T23:59:59Z", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
              "0001-01-01", "99999-01-01T00:00:00Z", "2026-02-30T00:00:00Z"],
}

# Whole bodies that are not an object of fields at all.
RAW_BODIES = [
    ("application/json", "[" * DEEP + "]" * DEEP),
    ("application/json", '{"a":' * DEEP + "1" + "}" * DEEP),
    ("application/json", "[]"), ("application/json", '"text"'), ("application/json", "null"),
    ("application/json", "1" * 5_000), ("application/json", "NaN"), ("application/json", '{"phone": Infinity}'),
    ("application/json", "{"), ("application/json", b"\xff\xfe{}"), ("application/json", '"\\u0000"'),
    ("application/x-www-form-urlencoded", "phone=%2B5511987654321&message=hi"),
    ("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n1\r\n--x--"),
    ("text/plain", "hello"),
]

# GET operations and their query parameters.
QUERIES = {
    "/api/v1/sms/logs": ["start_date", "end_date", "status", "phone", "page"],
    "/api/v1/sms/stats": ["start_date", "end_date"],
    "/api/v1/sms/balance": ["provider"],
    "/api/v1/sms/templates": ["page"],
    "/api/webhooks/events/": ["status", "tribopay_id", "page"],
    "/api/webhooks/sms-logs/": ["page"],
    "/api/webhooks/stats/": ["page"],
}
QUERY_VALUES = ["%00", "a%00b", "%ED%A0%80", "%FF", "x" * 5_000, "9999-12-31", "0001-01-01", "-1", "0",
                "99999999999999999999999", "1e999", "%5B%5D", "2026-02-30"]
DETAIL_URLS = ["/api/v1/sms/logs/{}", "/api/v1/leads/{}", "/api/webhooks/events/{}/"]
IDS = ["0", "99999999999999999999", "9223372036854775808", "9223372036854775807", "1" * 500]


def paths(value, prefix=()):
    """Every path to a value in a JSON document: dict keys and list indexes."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def replaced(document, path, value):
    document = json.loads(json.dumps(document))
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


def as_json(document) -> str:
    """JSON text of `document`, with the nesting markers expanded (json.dumps itself would recurse)."""
    text = json.dumps(document)
    return text.replace('"__DEEP__"', "[" * DEEP + "]" * DEEP).replace('"__33_LEVELS__"', "[" * 33 + "]" * 33)


def stored() -> tuple[int, ...]:
    return (Message.objects.count(), Lead.objects.count(), MessageTemplate.objects.count(),
            TemplateVariant.objects.count(), WebhookEvent.objects.count())


def post(api, url, content_type, body, **headers):
    before = stored()
    response = api.generic("POST", url, body, content_type=content_type, **headers)
    assert response.status_code < 500, (url, body[:200], response.content[:500])
    if response.status_code >= 400:
        assert stored() == before, (url, body[:200], response.status_code)
    return response


@pytest.mark.parametrize("kind", list(VALUES))
@pytest.mark.parametrize("url", list(BODIES))
def test_every_field_of_every_body_refuses_hostile_values(api, url, kind):
    document = BODIES[url]
    for path in paths(document):
        for value in VALUES[kind]:
            response = post(api, url, "application/json", as_json(replaced(document, path, value)))
            if kind in ("nesting", "nul", "surrogate"):
                assert response.status_code == 400, (url, path, kind, response.content[:300])


@pytest.mark.parametrize(("content_type", "body"), RAW_BODIES)
@pytest.mark.parametrize("url", list(BODIES))
def test_bodies_that_are_not_json_objects_are_refused(api, url, content_type, body):
    response = post(api, url, content_type, body)
    assert 400 <= response.status_code < 500


def test_nesting_nul_and_surrogates_are_400_naming_the_field(api):
    deep = api.generic("POST", "/api/v1/sms/send", "[" * DEEP + "]" * DEEP, content_type="application/json")
    assert deep.status_code == 400 and "nested too deep" in deep.json()["detail"]
    nul = post(api, "/api/v1/sms/bulk", "application/json", as_json(replaced(BODIES["/api/v1/sms/bulk"],
                                                                              ("messages", 0, "message"), NUL)))
    assert nul.json() == {"messages.0.message": ["NUL characters (\\u0000) are not allowed."]}
    lone = post(api, "/api/v1/sms/send", "application/json", as_json({**BODIES["/api/v1/sms/send"],
                                                                      "template_data": {"k": SURROGATE}}))
    assert lone.json() == {"template_data.k": ["Lone surrogate characters (\\ud800-\\udfff) are not allowed."]}


def test_send_refuses_hostile_request_headers(api):
    body = as_json(BODIES["/api/v1/sms/send"])
    for header, value in [("HTTP_IDEMPOTENCY_KEY", NUL), ("HTTP_IDEMPOTENCY_KEY", "k" * 256),
                          ("HTTP_X_TENANT_ID", NUL), ("HTTP_X_TENANT_ID", "x" * 5_000)]:
        response = post(api, "/api/v1/sms/send", "application/json", body, **{header: value})
        assert 400 <= response.status_code < 500, (header, response.content[:300])


@pytest.mark.parametrize("url", list(BODIES))
def test_headers_stored_as_request_metadata_never_fail_a_request(api, url, settings):
    """User-Agent and X-Forwarded-For are recorded with messages and leads: odd ones are cleaned, not a 500."""
    settings.TRUST_X_FORWARDED_FOR = True
    for header, value in [("HTTP_USER_AGENT", NUL), ("HTTP_USER_AGENT", "u" * 5_000),
                          ("HTTP_X_FORWARDED_FOR", "not an address"), ("HTTP_X_FORWARDED_FOR", NUL)]:
        post(api, url, "application/json", as_json(BODIES[url]), **{header: value})


@pytest.mark.parametrize("url", list(QUERIES))
def test_every_query_parameter_refuses_hostile_values(api, url):
    for name in QUERIES[url]:
        for value in QUERY_VALUES:
            response = api.get(f"{url}?{name}={value}")
            assert response.status_code < 500, (url, name, value, response.content[:300])


@pytest.mark.parametrize("url", DETAIL_URLS)
def test_hostile_ids_are_404(api, url):
    for value in IDS:
        assert api.get(url.format(quote(value))).status_code == 404, (url, value)


@pytest.mark.parametrize(("url", "path", "value", "errors"), [
    ("/api/v1/leads", ("consent", "gdpr"), "true", {"consent": {"gdpr": ["Must be a boolean (true or false)."]}}),
    ("/api/v1/leads", ("phone",), 5511987654321, {"phone": ["Must be a string."]}),
    ("/api/v1/sms/bulk", ("messages", 0, "phone"), 55119876, {"messages": {"0": {"phone": ["Must be a string."]}}}),
    ("/api/webhooks/test-sms/", ("message",), 42, {"message": ["Must be a string."]}),
])
def test_a_wrong_json_type_is_400_naming_the_field(api, url, path, value, errors):
    response = post(api, url, "application/json", as_json(replaced(BODIES[url], path, value)))
    assert response.status_code == 400
    assert response.json() == errors
