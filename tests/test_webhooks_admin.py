"""Admin pages of payment recovery: events with raw payload, the funnel, the recovery settings."""

import pytest
from django.contrib.auth.models import User

from templates.models import MessageTemplate
from tests.tribopay_support import SECRET, post, postback, processing
from webhooks.ingest import default_tenant
from webhooks.models import RecoverySettings, WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.TRIBOPAY_WEBHOOK_SECRET = SECRET


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


@pytest.fixture
def events():
    for payload in [postback("pay_1", amount=123456), postback("pay_2"), postback("pay_2", status="paid"),
                    postback("pay_3", method="credit_card")]:
        with processing():  # each processed before the next arrives
            post(payload)


def test_an_event_page_shows_the_raw_payload(staff, events):
    event = WebhookEvent.objects.get(tribopay_id="pay_1")
    page = staff.get(f"/admin/webhooks/webhookevent/{event.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "&quot;payment_status&quot;: &quot;waiting_payment&quot;" in html and "recovery SMS scheduled" in html


def test_the_event_list_filters_by_outcome(staff, events):
    page = staff.get("/admin/webhooks/webhookevent/?outcome=recovery_cancelled")
    assert page.status_code == 200
    assert "pay_2" in page.content.decode() and "pay_1" not in page.content.decode()


def test_the_payment_list_shows_the_recovery_funnel(staff, events):
    page = staff.get("/admin/webhooks/payment/")
    assert page.status_code == 200
    funnel = page.context["funnel"]
    assert (funnel["waiting"], funnel["sms_scheduled"], funnel["sms_cancelled"], funnel["sms_sent"],
            funnel["paid"], funnel["recovered"]) == (2, 2, 1, 0, 1, 0)
    html = page.content.decode()
    assert "Recovery funnel" in html and "R$ 1.234,56" in html  # pay_1's amount in the list


def test_the_recovery_settings_keep_the_fallback_link_and_lead_to_the_text(staff):
    tenant = default_tenant()
    page = staff.post("/admin/webhooks/recoverysettings/add/",
                      {"tenant": tenant.pk, "fallback_link": "loja.example.com/pay"})
    assert page.status_code == 302
    settings_row = RecoverySettings.objects.get()
    assert settings_row.fallback_link == "https://loja.example.com/pay"
    page = staff.get(f"/admin/webhooks/recoverysettings/{settings_row.pk}/change/").content.decode()
    text = MessageTemplate.objects.get(tenant=tenant, code="recovery-pix")
    assert f'href="/admin/templates/messagetemplate/{text.pk}/change/"' in page


def test_the_funnel_follows_the_tenant_filter(staff, events, tenant):
    page = staff.get(f"/admin/webhooks/payment/?tenant__id__exact={tenant.pk}")
    assert page.status_code == 200
    assert page.context["funnel_tenant"] == tenant and page.context["funnel"]["waiting"] == 0
