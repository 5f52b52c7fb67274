"""GET /api/v1/sms/stats and /api/v1/sms/balance: per tenant, computed by the database."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from smsgate.models import Message, ProviderAccount
from tests.conftest import client_for
from tests.sending import submit_one

pytestmark = pytest.mark.django_db


def make(tenant, provider, status, price=None, days_ago=0, price_unit=""):
    message = submit_one(tenant=tenant, to="+5511987654321", body="hi", send_at=timezone.now() + timedelta(days=1))
    Message.objects.filter(pk=message.pk).update(provider=provider, status=status, price=price, price_unit=price_unit,
                                                 created_at=timezone.now() - timedelta(days=days_ago))


def test_stats_by_status_and_provider(api, tenant, other_tenant):
    make(tenant, "twilio", "delivered", Decimal("0.0075"))
    make(tenant, "twilio", "delivered", Decimal("0.0075"))
    make(tenant, "twilio", "undelivered", Decimal("0.0075"))
    make(tenant, "smsc", "failed")
    make(tenant, "smsc", "sent", Decimal("1.40"))
    make(tenant, "", "cancelled")
    make(tenant, "twilio", "delivered", Decimal("9"), days_ago=90)  # outside the default 30 days
    make(other_tenant, "twilio", "delivered", Decimal("5"))  # another tenant's
    data = api.get("/api/v1/sms/stats").json()
    assert data["totals"]["messages"] == 6
    assert Decimal(data["totals"]["cost"]) == Decimal("1.4225")
    assert data["by_status"] == {"delivered": 2, "undelivered": 1, "failed": 1, "sent": 1, "cancelled": 1}
    assert data["by_status_code"] == {"1": 2, "4": 3, "2": 1}
    twilio, = [p for p in data["providers"] if p["provider"] == "twilio"]
    assert (twilio["messages"], twilio["delivered"], twilio["failed"]) == (3, 2, 1)
    assert twilio["success_rate"] == 1.0 and twilio["delivery_rate"] == pytest.approx(0.6667)
    smsc, = [p for p in data["providers"] if p["provider"] == "smsc"]
    assert smsc["success_rate"] == 0.5


def test_costs_in_different_currencies_are_never_added(api, tenant):
    make(tenant, "twilio", "delivered", Decimal("0.0075"), price_unit="USD")
    make(tenant, "twilio", "delivered", Decimal("0.0075"), price_unit="USD")
    make(tenant, "smsc", "sent", Decimal("1.40"), price_unit="RUB")
    data = api.get("/api/v1/sms/stats").json()
    assert data["totals"]["costs"] == {"USD": "0.01500", "RUB": "1.40000"}  # the most messages first
    assert data["totals"]["cost"] is None  # 1.415 of what?
    providers = {p["provider"]: p for p in data["providers"]}
    assert (providers["twilio"]["cost"], providers["twilio"]["costs"]) == ("0.01500", {"USD": "0.01500"})
    assert (providers["smsc"]["cost"], providers["smsc"]["costs"]) == ("1.40000", {"RUB": "1.40000"})


def test_stats_for_a_chosen_period(api, tenant):
    make(tenant, "twilio", "delivered", days_ago=90)
    day = (timezone.now() - timedelta(days=90)).date().isoformat()
    assert api.get("/api/v1/sms/stats", {"start_date": day, "end_date": day}).json()["totals"]["messages"] == 1
    assert api.get("/api/v1/sms/stats", {"start_date": "2026-02-30"}).status_code == 400


def test_balance_of_the_tenant_chain_uses_its_own_accounts(tenant, smsc, twilio, settings):
    settings.SMS_PRIMARY_PROVIDER = "smsc"
    settings.SMS_FALLBACK_PROVIDERS = ["twilio", "console"]
    ProviderAccount.objects.create(tenant=tenant, provider="smsc",
                                   credentials={"login": smsc.login, "password": smsc.password})
    ProviderAccount.objects.create(tenant=tenant, provider="twilio",
                                   credentials={"account_sid": twilio.account_sid, "auth_token": "wrong"})
    rows = client_for(tenant).get("/api/v1/sms/balance").json()["balances"]
    assert rows == [
        {"provider": "smsc", "amount": "84.75", "currency": "RUB", "error": None},
        {"provider": "twilio", "amount": None, "currency": "",
         "error": {"code": "auth_failed", "message": "the carrier refused the account's credentials"}},
        {"provider": "console", "amount": None, "currency": "",
         "error": {"code": "not_supported", "message": "console has no balance to read"}},
    ]


def test_a_tenant_without_its_own_account_never_reaches_the_platforms(tenant, twilio, settings):
    """Issue 13: the platform's AccountSid and internal URL were shown to any tenant."""
    settings.TWILIO_API_BASE_URL = twilio.url + "/internal-proxy"
    response = client_for(tenant).get("/api/v1/sms/balance", {"provider": "twilio"})
    assert response.status_code == 200
    assert response.json()["balances"] == [{"provider": "twilio", "amount": None, "currency": "", "error": {
        "code": "no_account", "message": "no twilio account of your own is set up"}}]
    assert twilio.requests == []
    assert twilio.account_sid not in response.content.decode() and "internal-proxy" not in response.content.decode()


def test_a_tenants_partial_account_is_not_completed_with_the_platforms(tenant, twilio):
    ProviderAccount.objects.create(tenant=tenant, provider="twilio", credentials={"auth_token": twilio.auth_token})
    response = client_for(tenant).get("/api/v1/sms/balance", {"provider": "twilio"})
    assert response.json()["balances"][0]["error"] == {"code": "not_configured",
                                                        "message": "the account lacks account_sid"}
    assert twilio.requests == []


def test_carrier_errors_are_a_code_and_a_short_message_never_its_text(tenant, twilio, settings):
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9/internal"  # nothing listens: the SDK's error names the URL
    ProviderAccount.objects.create(tenant=tenant, provider="twilio",
                                   credentials={"account_sid": twilio.account_sid, "auth_token": twilio.auth_token})
    response = client_for(tenant).get("/api/v1/sms/balance", {"provider": "twilio"})
    assert response.json()["balances"][0]["error"] == {
        "code": "carrier_unavailable", "message": "the carrier did not answer; try again later"}
    assert "127.0.0.1" not in response.content.decode() and twilio.account_sid not in response.content.decode()


def test_the_default_tenant_sees_the_platforms_balance(twilio):
    from smsgate.models import Tenant

    response = client_for(Tenant.objects.get(slug=Tenant.DEFAULT_SLUG)).get("/api/v1/sms/balance",
                                                                            {"provider": "twilio"})
    assert response.json()["balances"] == [{"provider": "twilio", "amount": "12.34", "currency": "USD",
                                            "error": None}]


def test_an_unknown_provider_is_a_field_error(api):
    response = api.get("/api/v1/sms/balance", {"provider": "twillio"})
    assert response.status_code == 400
    assert response.json() == {"provider": ['"twillio" is not a valid choice.']}


def test_stats_and_balance_need_a_key(client):
    assert client.get("/api/v1/sms/stats").status_code == 401
    assert client.get("/api/v1/sms/balance").status_code == 401
