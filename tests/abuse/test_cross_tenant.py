"""Cross-tenant sweeps: every API URL, called with another tenant's key, leaks nothing; every carrier's
callbacks, authenticated with another tenant's account, touch nothing of this tenant's.

The URL list is read from the resolver, so an endpoint added later is swept too.
"""

import re

import pytest
from django.urls import URLResolver, get_resolver

from leads.services import lead_create
from smsgate.models import CarrierPrice, Message, OptOut, ProviderAccount, ProviderCallback, Tenant
from smsgate.sending import dispatch
from smsgate.tracking.receipts import apply_unmatched_receipts
from templates.services import template_create
from tests.conftest import client_for
from tests.fakes.callback import CARRIER_CALLBACKS
from tests.sending import submit_one
from tests.tribopay_support import SECRET, post, postback
from webhooks.ingest import default_tenant

pytestmark = pytest.mark.django_db

MARKERS = ["SECRET-A", "Leaky Lead", "Maria Silva", "+5511911119999", "+5511987654321", "0.98765"]
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
    ids = [submit_one(tenant=tenant, to="+5511911119999", body="SECRET-A message").pk]
    ids.append(lead_create(tenant=tenant, name="Leaky Lead", phone="+5511911119999", consent_gdpr=True).pk)
    template_create(tenant=tenant, code="secret-a", variants=[{"label": "A", "body": "SECRET-A {name}"}])
    CarrierPrice.objects.create(tenant=tenant, provider="memory", prefix="55", price="0.98765", currency="USD")
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


# --- Carrier callbacks ---------------------------------------------------------------------------------

B_SECRET = "tenant-b-own-callback-secret"
RECEIPTS = [case for case in CARRIER_CALLBACKS if "delivery" in case.kinds]
REPLIES = [case for case in CARRIER_CALLBACKS if "inbound" in case.kinds]


@pytest.fixture
def tenants(request, tenant, other_tenant, settings):
    """(carrier, its fake, tenant A, tenant B); B has its own account at the carrier, with its own secret."""
    case = request.param
    fake = request.getfixturevalue(case.name)
    ProviderAccount.objects.create(tenant=other_tenant, provider=case.name,
                                   credentials=case.account_credentials(settings, B_SECRET))
    return case, fake, tenant, other_tenant


def send_through(tenant: Tenant, phone: str) -> Message:
    message = submit_one(tenant=tenant, to=phone, body="hello from A")
    dispatch.deliver([message.pk], dispatch.claim_one(message.pk))
    message.refresh_from_db()
    assert message.status == "sent"
    return message


def a_account(case, tenant_a, scope: str, settings) -> ProviderAccount | None:
    """A sends with the platform's credentials, or with its own account (the same secrets, its own scope)."""
    if scope == "platform":
        return None
    credentials = case.account_credentials(settings, case.platform_secret(settings))
    return ProviderAccount.objects.create(tenant=tenant_a, provider=case.name, credentials=credentials)


@pytest.mark.parametrize("tenants", RECEIPTS, indirect=True, ids=repr)
@pytest.mark.parametrize("scope", ["platform", "own account"])
def test_a_receipt_authenticated_by_another_account_never_touches_a_message(tenants, scope, settings):
    case, fake, tenant_a, tenant_b = tenants
    account = a_account(case, tenant_a, scope, settings)
    message = send_through(tenant_a, case.phone)
    assert message.provider_account_id == (account.pk if account else None)
    receipt = case.fields("delivery", fake, message)
    forgeries = [case.build("delivery", receipt, secret=B_SECRET, query=f"tenant={tenant_b.slug}")]
    if account:  # the platform's credentials do not reach a tenant account's messages either
        forgeries.append(case.build("delivery", receipt, secret=case.platform_secret(settings)))
    for forged in forgeries:
        assert forged.post().status_code == 200  # authentic for its account, which has no such message
    # Stored for the account that sent it, unmatched; a later send of A's does not pick it up either.
    apply_unmatched_receipts([(case.name, message.provider_account_id, message.provider_message_id)])
    assert Message.objects.get(pk=message.pk).status == "sent"
    assert not message.events.filter(kind="receipt").exists()
    stored = ProviderCallback.objects.filter(kind="delivery")
    assert stored.count() == len(forgeries) and not stored.filter(matched=True).exists()

    own_query = f"tenant={tenant_a.slug}" if account else ""
    authentic = case.build("delivery", receipt, secret=case.platform_secret(settings), query=own_query)
    assert authentic.post().status_code == 200
    assert Message.objects.get(pk=message.pk).status in ("failed", "undelivered")


@pytest.mark.parametrize("tenants", REPLIES, indirect=True, ids=repr)
def test_a_stop_to_another_tenants_account_opts_out_only_there(tenants, settings):
    case, fake, tenant_a, tenant_b = tenants
    message = send_through(tenant_a, case.phone)
    stop = case.build("inbound", case.fields("inbound", fake, message), secret=B_SECRET,
                      query=f"tenant={tenant_b.slug}")
    assert stop.post().status_code == 200
    assert list(OptOut.objects.values_list("tenant__slug", "phone")) == [(tenant_b.slug, message.to)]
    assert submit_one(tenant=tenant_a, to=message.to, body="A may still text").status == "queued"


@pytest.mark.parametrize("tenants", REPLIES, indirect=True, ids=repr)
def test_a_stop_with_platform_credentials_spares_a_tenant_that_used_its_own_account(tenants, settings):
    case, fake, tenant_a, _ = tenants
    a_account(case, tenant_a, "own account", settings)
    message = send_through(tenant_a, case.phone)
    stop = case.build("inbound", case.fields("inbound", fake, message), secret=case.platform_secret(settings))
    assert stop.post().status_code == 200
    assert list(OptOut.objects.values_list("tenant__slug", flat=True)) == [Tenant.DEFAULT_SLUG]
    own_stop = case.build("inbound", case.fields("inbound", fake, message, body="stop"),
                          secret=case.platform_secret(settings), query=f"tenant={tenant_a.slug}")
    assert own_stop.post().status_code == 200
    assert OptOut.objects.filter(tenant=tenant_a, phone=message.to).exists()
