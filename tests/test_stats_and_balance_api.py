"""GET /api/v1/sms/stats and /api/v1/sms/balance: per tenant, computed by the database."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from smsgate.models import Message, ProviderAccount
from smsgate.services import send_sms
from tests.conftest import client_for
from tests.fakes.server import Reply

pytestmark = pytest.mark.django_db


def make(tenant, provider, status, price=None, days_ago=0):
    message = send_sms(tenant=tenant, to="+5511987654321", body="hi", send_at=timezone.now() + timedelta(days=1))
    Message.objects.filter(pk=message.pk).update(provider=provider, status=status, price=price,
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


def test_stats_for_a_chosen_period(api, tenant):
    make(tenant, "twilio", "delivered", days_ago=90)
    day = (timezone.now() - timedelta(days=90)).date().isoformat()
    assert api.get("/api/v1/sms/stats", {"start_date": day, "end_date": day}).json()["totals"]["messages"] == 1
    assert api.get("/api/v1/sms/stats", {"start_date": "2026-02-30"}).status_code == 400


def test_balance_of_the_tenant_chain_uses_its_own_accounts(tenant, smsc, twilio, settings):
    settings.SMS_PRIMARY_PROVIDER = "smsc"
    settings.SMS_FALLBACK_PROVIDERS = ["twilio", "console"]
    ProviderAccount.objects.create(tenant=tenant, provider="twilio", credentials={"auth_token": "wrong"})
    rows = client_for(tenant).get("/api/v1/sms/balance").json()["balances"]
    assert rows[0] == {"provider": "smsc", "amount": "84.75", "currency": "RUB", "error": ""}
    assert rows[1]["provider"] == "twilio" and rows[1]["amount"] is None and "Authenticate" in rows[1]["error"]
    assert rows[2] == {"provider": "console", "amount": None, "currency": "", "error": "not supported"}


def test_balance_of_one_provider_and_an_unknown_one(api, smsc):
    smsc.fail_next(Reply(503, "busy"))
    assert api.get("/api/v1/sms/balance", {"provider": "smsc"}).json()["balances"][0]["error"]
    assert api.get("/api/v1/sms/balance", {"provider": "pigeon"}).status_code == 400


def test_stats_and_balance_need_a_key(client):
    assert client.get("/api/v1/sms/stats").status_code == 401
    assert client.get("/api/v1/sms/balance").status_code == 401
