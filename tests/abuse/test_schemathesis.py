"""Property-based fuzzing of every operation in our OpenAPI schema, with all of Schemathesis's checks.

No server error, every status and body documented, invalid requests refused, valid ones accepted.
A JSON schema cannot state some rules (a string is a real phone number, a template code or an id
exists, a schedule is within a year of now, one of message/template_code): `follow_the_rules_a_schema_cannot_state`
applies them to the fuzzer's valid ("positive") cases, so those reach the success paths; invalid
("negative") cases are sent as generated.
"""

import itertools
from collections import Counter
from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.config import SchemathesisConfig

from leads.services import lead_create
from smsgate.consents import record_marketing_consents
from smsgate.models import ApiKey, Tenant
from smsgate.wsgi import application
from templates.models import MessageTemplate, TemplateVariant
from tests.sending import submit_one
from webhooks.models import WebhookEvent

# NUL characters are refused by the API (Postgres text cannot hold them): the fuzzer is told so. The API key
# is the fixture's (auth_headers); missing or bad keys are tested in tests/test_api_send.py.
CONFIG = SchemathesisConfig.from_dict({"generation": {"allow-x00": False, "with-security-parameters": False}})
# The MMS media upload is left out: the fuzzer sends a multipart field without a file name, which is no file
# upload at all (Django reads it as text). tests/test_mms_uploads.py tries it with hostile files instead.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG).exclude(path="/api/v1/sms/media")

TEMPLATE_CODE = "fuzz"
NUMBERS = [f"+55119876{n:05d}" for n in range(2_000)]  # valid Brazilian mobiles
PHONES = itertools.cycle(NUMBERS)
CODES = itertools.count()
EXISTING_IDS: dict[str, int] = {}  # detail operation -> the id of the tenant's object it can find
STATUSES: Counter = Counter()  # (operation, status class) -> responses, to show the success paths were reached


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Like Django's test client: requests must not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tenant(db) -> Tenant:
    """The fuzzer's tenant: a template to send with, and one object for each detail operation to find."""
    tenant, _ = Tenant.objects.get_or_create(slug="fuzz", defaults={"name": "Fuzz", "default_region": "BR"})
    template, _ = MessageTemplate.objects.get_or_create(tenant=tenant, code=TEMPLATE_CODE)
    TemplateVariant.objects.get_or_create(template=template, label="A", defaults={"body": "Hello from fuzz"})
    # Marketing is a valid message type: its numbers have consented (tests/test_policy.py covers the refusal).
    record_marketing_consents(tenant=tenant, phones=NUMBERS, source="fuzzer")
    EXISTING_IDS["/api/v1/sms/logs/{id}"] = submit_one(tenant=tenant, to=next(PHONES), body="hello").pk
    EXISTING_IDS["/api/v1/leads/{id}"] = lead_create(tenant=tenant, name="Ana", phone=next(PHONES),
                                                     consent_gdpr=True).pk
    EXISTING_IDS["/api/webhooks/events/{id}/"] = WebhookEvent.objects.create(
        tenant=tenant, tribopay_id="pay_fuzz", status="waiting_payment", payload={}).pk
    return tenant


@pytest.fixture
def auth_headers(tenant) -> dict[str, str]:
    _, raw_key = ApiKey.issue(tenant=tenant)
    return {"Authorization": f"Bearer {raw_key}"}


def a_valid_send(entry: dict) -> None:
    """A real number; one of message or an existing template_code; media the carrier can fetch."""
    entry["phone"] = next(PHONES)
    valid_media(entry)
    if "template_code" in entry:
        entry["template_code"] = TEMPLATE_CODE
        entry.pop("message", None)
    else:
        entry.setdefault("message", "hello")


def valid_media(body: dict) -> None:
    """Absolute http(s) URLs: the schema says strings (the core checks the scheme and the host)."""
    if body.get("media_urls"):
        body["media_urls"] = [f"https://cdn.example.org/{n}.png" for n in range(len(body["media_urls"]))]


def a_valid_schedule(body: dict) -> None:
    if body.get("send_at") is not None:
        body["send_at"] = (timezone.now() + timedelta(hours=1)).isoformat()


def a_valid_template(body: dict) -> None:
    """A new code; unique labels; a weight above 0; {braces} only around names (the text is a template)."""
    body["code"] = f"fuzz-{next(CODES)}"
    for index, variant in enumerate(body["variants"]):
        variant["label"] = chr(ord("A") + index)
        variant["body"] = variant["body"].replace("{", "(").replace("}", ")")
    body["variants"][0]["weight"] = max(body["variants"][0].get("weight", 1), 1)


def a_valid_lead(body: dict) -> None:
    body["phone"] = next(PHONES)
    if body.get("email") or body.get("channel") == "email":
        body["email"] = "lead@example.com"  # Django's e-mail check is stricter than JSON Schema's format


def follow_the_rules_a_schema_cannot_state(case) -> None:
    path, body, query = case.operation.path, case.body, case.query
    if isinstance(body, dict):
        if path == "/api/v1/sms/send":
            a_valid_send(body)
            a_valid_schedule(body)
        elif path == "/api/v1/sms/bulk":
            for entry in body["messages"]:
                a_valid_send(entry)
            valid_media(body)
            a_valid_schedule(body)
        elif path == "/api/v1/sms/templates":
            a_valid_template(body)
        elif path == "/api/v1/leads":
            a_valid_lead(body)
        elif path == "/api/webhooks/test-sms/":
            body["phone_number"] = next(PHONES)
            valid_media(body)
    if path in EXISTING_IDS:
        case.path_parameters["id"] = EXISTING_IDS[path]
    if query:
        if query.get("start_date") and query.get("end_date") and query["start_date"] > query["end_date"]:
            query["start_date"], query["end_date"] = query["end_date"], query["start_date"]
        if path == "/api/v1/sms/balance" and "provider" in query:
            query["provider"] = "memory"  # the configured provider (tests' conftest)
        if path == "/api/v1/sms/prices" and "phone" in query:
            query["phone"] = next(PHONES)  # a real number (the pattern only says how numbers are written)


@schema.parametrize()
@hypothesis_settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_openapi_promises(case, auth_headers):
    if case.meta is not None and case.meta.generation.mode.is_positive:
        follow_the_rules_a_schema_cannot_state(case)
    response = case.call_and_validate(headers=auth_headers)
    if case.method.upper() == case.operation.method.upper():  # not one of the probes with another method
        STATUSES[(case.operation.label, f"{response.status_code // 100}xx")] += 1


def test_every_success_path_was_fuzzed():
    """Runs after the fuzzing above (same module): each operation answered 2xx at least once."""
    if not STATUSES:
        pytest.skip("run with the fuzzing test above")
    operations = {label for label, _ in STATUSES}
    succeeded = {label for label, status in STATUSES if status == "2xx"}
    print("\nresponses by operation and status class:", dict(sorted(STATUSES.items())))
    assert operations - succeeded == set()
