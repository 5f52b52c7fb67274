"""Cross-tenant sweep: every API URL, called with another tenant's key, leaks nothing.

The URL list is read from the resolver, so an endpoint added later is swept too.
"""

import re

import pytest
from django.urls import URLResolver, get_resolver

from leads.services import lead_create
from smsgate.services import send_sms
from templates.services import template_create
from tests.conftest import client_for
from tests.tribopay_support import SECRET, post, postback
from webhooks.ingest import default_tenant

pytestmark = pytest.mark.django_db

MARKERS = ["SECRET-A", "Leaky Lead", "Maria Silva", "+5511911119999", "+5511987654321"]
# Public by design: carrier callbacks (authenticated by signature or secret, tested elsewhere),
# the TriboPay postback (secret), health checks, the OpenAPI schema and docs, tracked links.
PUBLIC = re.compile(r"^(api/v1/sms/(delivery|inbound)/|api/webhooks/(tribopay|health)/|api/(schema|docs)/|healthz|r/)")


def api_routes() -> list[str]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    return [route for route in walk(get_resolver().url_patterns)
            if route.startswith("api/") and not PUBLIC.match(route)]


@pytest.fixture
def tenant_a_data(settings):
    """Data of tenant A (the default tenant, which owns TriboPay events) that B must never see."""
    settings.TRIBOPAY_WEBHOOK_SECRET = SECRET
    tenant = default_tenant()
    ids = [send_sms(tenant=tenant, to="+5511911119999", body="SECRET-A message").pk]
    ids.append(lead_create(tenant=tenant, name="Leaky Lead", phone="+5511911119999", consent_gdpr=True).pk)
    template_create(tenant=tenant, code="secret-a", variants=[{"label": "A", "body": "SECRET-A {name}"}])
    assert post(postback("pay_leak")).status_code == 200
    from webhooks.models import WebhookEvent

    ids.extend(WebhookEvent.objects.values_list("pk", flat=True))
    return tenant, sorted(set(ids) | {1, 2, 3})


def urls_for(route: str, ids: list[int]) -> list[str]:
    if "<int:pk>" in route:
        return ["/" + route.replace("<int:pk>", str(pk)) for pk in ids]
    return ["/" + route]


def test_the_sweep_covers_every_tenant_api(tenant_a_data):
    routes = api_routes()
    for expected in ["api/v1/sms/logs/<int:pk>", "api/v1/leads/<int:pk>", "api/webhooks/events/<int:pk>/",
                     "api/v1/sms/templates", "api/v1/sms/stats", "api/webhooks/sms-logs/"]:
        assert expected in routes


def test_another_tenants_key_sees_nothing_of_tenant_a(tenant_a_data, other_tenant):
    _, ids = tenant_a_data
    intruder = client_for(other_tenant)
    checked = 0
    for route in api_routes():
        for url in urls_for(route, ids):
            response = intruder.get(url)
            assert response.status_code in (200, 403, 404, 405), (url, response.status_code)
            body = response.content.decode()
            assert not [m for m in MARKERS if m in body], (url, body[:300])
            checked += 1
    assert checked >= len(api_routes())


def test_a_tenant_header_naming_another_tenant_is_refused_everywhere(tenant_a_data, other_tenant):
    tenant, ids = tenant_a_data
    owner = client_for(tenant)
    for route in api_routes():
        for url in urls_for(route, ids[:1]):
            response = owner.get(url, HTTP_X_TENANT_ID=other_tenant.slug)
            assert response.status_code in (403, 405), (url, response.status_code)


def test_without_a_key_every_tenant_api_is_401(tenant_a_data, client):
    _, ids = tenant_a_data
    for route in api_routes():
        for url in urls_for(route, ids[:1]):
            assert client.get(url).status_code in (401, 405), url
