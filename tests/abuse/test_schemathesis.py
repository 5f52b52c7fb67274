"""Property-based fuzzing of every operation in our OpenAPI schema: no input may cause a server error."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from smsgate.models import ApiKey, Tenant
from smsgate.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Like Django's test client: requests must not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def auth_headers(db) -> dict[str, str]:
    tenant, _ = Tenant.objects.get_or_create(slug="fuzz", defaults={"name": "Fuzz", "default_region": "BR"})
    _, raw_key = ApiKey.issue(tenant=tenant)
    return {"Authorization": f"Bearer {raw_key}"}


@schema.parametrize()
@hypothesis_settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_input_causes_a_server_error(case, auth_headers):
    case.call_and_validate(headers=auth_headers, checks=[not_a_server_error])
