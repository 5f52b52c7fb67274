"""The admin is the operators' monitoring UI: every page renders, and actions work."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from smsgate.models import Message, OptOut, ProviderCallback
from smsgate.sending.tasks import sweep_due_messages_task
from tests.sending import submit_one

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(admin_client, tenant):
    sent = submit_one(tenant=tenant, to="+5511987654321", body="hello")
    sweep_due_messages_task()
    OptOut.objects.create(tenant=tenant, phone="+5511900000000", source="keyword", keyword="STOP")
    return admin_client, sent


@pytest.mark.parametrize("model", ["tenant", "apikey", "message", "optout", "providercallback"])
def test_every_changelist_renders(operator, model):
    client, _ = operator
    assert client.get(reverse(f"admin:smsgate_{model}_changelist")).status_code == 200


def test_a_message_page_shows_its_attempts(operator):
    client, message = operator
    page = client.get(reverse("admin:smsgate_message_change", args=[message.pk]))
    assert page.status_code == 200
    assert b"attempt" in page.content and b"memory" in page.content


def test_operators_can_cancel_a_scheduled_message(operator, tenant):
    client, _ = operator
    later = submit_one(tenant=tenant, to="+5511987654321", body="later", send_at=timezone.now() + timedelta(days=1))
    client.post(reverse("admin:smsgate_message_changelist"),
                {"action": "cancel", "_selected_action": [later.pk]})
    later.refresh_from_db()
    assert later.status == "cancelled"
    assert Message.objects.filter(status="sent").count() == 1


def test_provider_credentials_are_write_only_in_the_admin(admin_client, tenant):
    from smsgate.models import ProviderAccount

    url = reverse("admin:smsgate_tenant_change", args=[tenant.pk])
    page = admin_client.get(url)
    form = {
        "name": tenant.name, "slug": tenant.slug, "default_region": "BR", "is_active": "on",
        "primary_provider": "twilio", "fallback_providers": "", "sender_number": "", "quiet_hours": "",
        "slo_delivered_percent": "95", "slo_delivered_seconds": "60", "routing": "in_order",
        "provider_accounts-TOTAL_FORMS": "1", "provider_accounts-INITIAL_FORMS": "0",
        "provider_accounts-0-provider": "twilio",
        "provider_accounts-0-credentials_json": '{"account_sid": "AC1", "auth_token": "s3cret-token"}',
        "provider_accounts-0-is_active": "on",
        "api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0",
    }
    assert page.status_code == 200
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content[:3000]
    account = ProviderAccount.objects.get(tenant=tenant)
    assert account.credentials == {"account_sid": "AC1", "auth_token": "s3cret-token"}
    page = admin_client.get(url)
    assert b"s3cret-token" not in page.content and b"account_sid, auth_token" in page.content


def tenant_form(tenant, **changes) -> dict:
    form = {
        "name": tenant.name, "slug": tenant.slug, "default_region": "BR", "is_active": "on",
        "primary_provider": "", "fallback_providers": "", "sender_number": "", "quiet_hours": "",
        "slo_delivered_percent": "95", "slo_delivered_seconds": "60", "routing": "in_order",
        "provider_accounts-TOTAL_FORMS": "0", "provider_accounts-INITIAL_FORMS": "0",
        "api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0",
    }
    return {**form, **changes}


def test_the_tenant_form_refuses_unknown_provider_names(admin_client, tenant):
    url = reverse("admin:smsgate_tenant_change", args=[tenant.pk])
    response = admin_client.post(url, tenant_form(tenant, primary_provider="twillio", fallback_providers="smsc, smsk"))
    assert response.status_code == 200  # the form again, with its errors
    errors = response.context["adminform"].form.errors
    assert "twillio is not one of the available choices" in errors["primary_provider"][0]
    assert "smsk" in errors["fallback_providers"][0]
    tenant.refresh_from_db()
    assert (tenant.primary_provider, tenant.fallback_providers) == ("", "")
    response = admin_client.post(url, tenant_form(tenant, primary_provider="twilio", fallback_providers="smsc, memory"))
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert (tenant.primary_provider, tenant.fallback_providers) == ("twilio", "smsc, memory")


def test_a_provider_account_needs_the_backends_credentials(admin_client, tenant):
    from smsgate.models import ProviderAccount

    url = reverse("admin:smsgate_tenant_change", args=[tenant.pk])
    account = {"provider_accounts-TOTAL_FORMS": "1", "provider_accounts-0-provider": "twilio",
               "provider_accounts-0-credentials_json": '{"acount_sid": "AC1", "auth_token": "t"}',
               "provider_accounts-0-is_active": "on"}
    response = admin_client.post(url, tenant_form(tenant, **account))
    assert response.status_code == 200
    assert b"the account has unknown credentials: acount_sid" in response.content
    assert not ProviderAccount.objects.exists()


def test_operators_find_the_callbacks_that_could_not_be_used(admin_client):
    ProviderCallback.objects.create(provider="aircall", kind="delivery", event_key="ok-1", provider_message_id="ok-1")
    ProviderCallback.objects.create(provider="aircall", kind="delivery", event_key="bad-1",
                                    provider_message_id="bad-1", problem="data.status: expected a string")
    page = admin_client.get(reverse("admin:smsgate_providercallback_changelist"), {"unusable": "yes"})
    assert page.status_code == 200
    assert b"data.status: expected a string" in page.content
    assert b"bad-1" in page.content and b"ok-1" not in page.content
