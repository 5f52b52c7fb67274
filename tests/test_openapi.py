"""The OpenAPI schema: generated without warnings, valid, and served with a local Swagger UI."""

from io import StringIO

import pytest
from django.core.management import call_command

from smsgate.api.schema import NOT_BLANK


def test_the_schema_generates_without_warnings_and_validates():
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_the_schema_and_swagger_ui_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/sms/send" in schema.content and b"bearer" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content


@pytest.fixture
def openapi(client, db) -> dict:
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def operations(openapi):
    for path, methods in openapi["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_error_an_operation_can_answer_is_documented(openapi):
    for name, operation in operations(openapi):
        documented = set(operation["responses"])
        assert {"401", "403", "429"} <= documented, name
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= documented, name
        if "{id}" in name:
            assert "404" in documented, name
    send = openapi["paths"]["/api/v1/sms/send"]["post"]
    assert "409" in send["responses"]


MULTIPART_OPERATIONS = {"POST /api/v1/sms/media"}  # a file upload (MMS media)


def test_request_bodies_are_json_only(openapi):
    for name, operation in operations(openapi):
        if "requestBody" in operation:
            expected = ["multipart/form-data"] if name in MULTIPART_OPERATIONS else ["application/json"]
            assert list(operation["requestBody"]["content"]) == expected, name


def test_the_schema_states_the_input_limits(openapi):
    schemas = openapi["components"]["schemas"]
    assert schemas["SendSmsInput"]["properties"]["phone"]["pattern"] == r"^\+?[0-9 ().\-]{1,31}$"
    assert schemas["SendSmsInput"]["properties"]["message"]["pattern"] == NOT_BLANK
    assert "SMS_MAX_SCHEDULE_DAYS (365) days ahead" in schemas["SendSmsInput"]["properties"]["send_at"]["description"]
    messages = schemas["BulkSmsInput"]["properties"]["messages"]
    assert (messages["minItems"], messages["maxItems"]) == (1, 1000)
    variants = schemas["TemplateInput"]["properties"]["variants"]
    assert (variants["minItems"], variants["maxItems"]) == (1, 26)
    stats = {p["name"]: p for p in openapi["paths"]["/api/v1/sms/stats"]["get"]["parameters"]}
    assert set(stats) == {"start_date", "end_date"}
    assert stats["end_date"]["schema"]["anyOf"][0]["pattern"].startswith("^([2-8]")
