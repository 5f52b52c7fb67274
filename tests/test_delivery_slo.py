"""Latency histograms per carrier and delivery SLOs per tenant: in /metrics, on the dashboard, in the tenant admin."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from smsgate.console.latency import SLO_MIN_MESSAGES
from smsgate.models import Message, Tenant
from smsgate.statuses import Status

pytestmark = pytest.mark.django_db


def accepted(tenant, provider, accept_s, deliver_s=None, ago_s=300, status=None):
    """A message accepted ago_s seconds ago, accept_s after it was created, and delivered deliver_s after that."""
    now = timezone.now()
    sent_at = now - timedelta(seconds=ago_s)
    status = status or (Status.DELIVERED if deliver_s is not None else Status.SENT)
    message = Message.objects.create(tenant=tenant, to="+5511999990000", body="hi", encoding="gsm7", segments=1,
                                     status=status, provider=provider, due_at=now)
    Message.objects.filter(pk=message.pk).update(
        created_at=sent_at - timedelta(seconds=accept_s), sent_at=sent_at,
        delivered_at=sent_at + timedelta(seconds=deliver_s) if deliver_s is not None else None)
    return message


def scrape(client) -> dict:
    """{(sample name, frozenset(labels)): value}, parsed by prometheus_client's own parser."""
    response = client.get("/metrics")
    assert response.status_code == 200
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.content.decode()) for sample in family.samples}


def buckets(samples, name, **labels) -> dict:
    return {dict(key)["le"]: value for (sample, key), value in samples.items()
            if sample == f"{name}_bucket" and {k: v for k, v in key if k != "le"} == labels}


def test_histograms_count_known_messages_into_exact_buckets(client, tenant):
    for accept_s, deliver_s in [(0.5, 3), (1.5, 3), (4, 45), (40, None), (700, 700)]:
        accepted(tenant, "twilio", accept_s, deliver_s)
    accepted(tenant, "smsc", 2, 9)
    accepted(tenant, "twilio", 1, 1, ago_s=2 * 3600)  # accepted before the last hour: left out
    samples = scrape(client)
    assert buckets(samples, "smsgate_submit_to_accepted_seconds", provider="twilio") == {
        "1.0": 1, "2.0": 2, "5.0": 3, "10.0": 3, "30.0": 3, "60.0": 4, "120.0": 4, "300.0": 4, "600.0": 4,
        "+Inf": 5}
    assert buckets(samples, "smsgate_accepted_to_delivered_seconds", provider="twilio") == {
        "1.0": 0, "2.0": 0, "5.0": 2, "10.0": 2, "30.0": 2, "60.0": 3, "120.0": 3, "300.0": 3, "600.0": 3,
        "+Inf": 4}
    key = frozenset({("provider", "twilio")})
    assert samples[("smsgate_submit_to_accepted_seconds_count", key)] == 5
    assert samples[("smsgate_submit_to_accepted_seconds_sum", key)] == pytest.approx(746.0)
    assert samples[("smsgate_accepted_to_delivered_seconds_count", key)] == 4
    assert samples[("smsgate_accepted_to_delivered_seconds_sum", key)] == pytest.approx(751.0)
    assert buckets(samples, "smsgate_submit_to_accepted_seconds", provider="smsc")["2.0"] == 1


def slo_samples(client, tenant, provider):
    samples = scrape(client)
    key = frozenset({("tenant", tenant.slug), ("provider", provider)})
    return {name: samples.get((name, key)) for name in
            ("smsgate_slo_breached", "smsgate_slo_delivered_in_time_percent", "smsgate_slo_target_percent",
             "smsgate_slo_judged_messages")}


def test_an_slo_breach_appears_with_slow_deliveries_and_goes_away_with_fast_ones(client, admin_client, tenant):
    for _ in range(17):
        accepted(tenant, "twilio", 1, 5)
    for _ in range(3):
        accepted(tenant, "twilio", 1, 90)  # slower than the default 60 s
    accepted(tenant, "twilio", 1, ago_s=10)  # accepted 10 s ago, no receipt yet: not judged
    assert slo_samples(client, tenant, "twilio") == {
        "smsgate_slo_breached": 1, "smsgate_slo_delivered_in_time_percent": 85.0,
        "smsgate_slo_target_percent": 95, "smsgate_slo_judged_messages": 20}
    alert = " ".join(admin_client.get("/admin/dashboard/").content.decode().split("id=\"alerts\"")[1]
                     .split("</div>")[0].split())
    assert (f"twilio missed {tenant.slug}'s delivery SLO over the last hour: 85.0% of 20 messages delivered "
            "within 60 s, the target is 95%.") in alert

    for _ in range(40):
        accepted(tenant, "twilio", 1, 5)
    assert slo_samples(client, tenant, "twilio")["smsgate_slo_breached"] == 0  # 57 of 60: 95.0%
    assert "missed" not in admin_client.get("/admin/dashboard/").content.decode()


def test_undelivered_messages_past_the_slo_count_as_misses(client, tenant):
    Tenant.objects.filter(pk=tenant.pk).update(slo_delivered_percent=90, slo_delivered_seconds=30)
    for _ in range(18):
        accepted(tenant, "smsc", 1, 5)
    accepted(tenant, "smsc", 1, ago_s=120)  # still no receipt, 120 s after acceptance
    accepted(tenant, "smsc", 1, status=Status.UNDELIVERED, ago_s=5)  # finally failed: judged at once
    accepted(tenant, "smsc", 1, ago_s=20)  # 20 s old, SLO 30 s: not judged yet
    assert slo_samples(client, tenant, "smsc") == {
        "smsgate_slo_breached": 0, "smsgate_slo_delivered_in_time_percent": 90.0,
        "smsgate_slo_target_percent": 90, "smsgate_slo_judged_messages": 20}
    accepted(tenant, "smsc", 1, ago_s=40)
    assert slo_samples(client, tenant, "smsc")["smsgate_slo_breached"] == 1  # 18 of 21


def test_too_few_messages_never_breach(client, admin_client, tenant):
    for _ in range(SLO_MIN_MESSAGES - 1):
        accepted(tenant, "twilio", 1, 500)
    samples = slo_samples(client, tenant, "twilio")
    assert samples["smsgate_slo_breached"] == 0 and samples["smsgate_slo_delivered_in_time_percent"] == 0.0
    assert "missed" not in admin_client.get("/admin/dashboard/").content.decode()


def test_the_dashboard_shows_each_carriers_latency_buckets(admin_client, tenant):
    for accept_s, deliver_s in [(0.5, 3), (1.5, 3), (4, 45), (40, None), (700, 700)]:
        accepted(tenant, "twilio", accept_s, deliver_s)
    html = admin_client.get("/admin/dashboard/", {"tenant": tenant.pk}).content.decode()
    table = html.split('id="latency"', 1)[1].split("</table>", 1)[0]
    rows = {row.split("</td>")[0].split(">")[-1] + " " + row.split("</td>")[1].split(">")[-1]:
            [cell.split("</td>")[0] for cell in row.split('<td class="number">')[1:]]
            for row in table.split('<tr class="latency-row">')[1:]}
    assert rows["twilio submitted → accepted"] == ["1", "1", "1", "0", "0", "1", "0", "0", "0", "1"]
    assert rows["twilio accepted → delivered"] == ["0", "0", "2", "0", "0", "1", "0", "0", "0", "1"]


@pytest.mark.parametrize(("field", "value"), [
    ("slo_delivered_percent", "0"), ("slo_delivered_percent", "101"), ("slo_delivered_percent", "-5"),
    ("slo_delivered_percent", "95.5"), ("slo_delivered_percent", "abc"),
    ("slo_delivered_seconds", "0"), ("slo_delivered_seconds", "86401"), ("slo_delivered_seconds", "1e9"),
    ("slo_delivered_seconds", "99999999999999999999"),
])
def test_the_tenant_admin_refuses_hostile_slo_values(admin_client, tenant, field, value):
    form = {"name": tenant.name, "slug": tenant.slug, "default_region": "US", "is_active": "on",
            "slo_delivered_percent": "95", "slo_delivered_seconds": "60", field: value,
            **{f"{prefix}-{key}": count for prefix in ("provider_accounts", "api_keys")
               for key, count in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))}}
    response = admin_client.post(f"/admin/smsgate/tenant/{tenant.pk}/change/", form)
    assert response.status_code == 200 and "errornote" in response.content.decode()
    tenant.refresh_from_db()
    assert (tenant.slo_delivered_percent, tenant.slo_delivered_seconds) == (95, 60)


def test_the_tenant_admin_saves_an_slo(admin_client, tenant):
    form = {"name": tenant.name, "slug": tenant.slug, "default_region": "US", "is_active": "on",
            "slo_delivered_percent": "99", "slo_delivered_seconds": "30", "routing": "in_order",
            **{f"{prefix}-{key}": count for prefix in ("provider_accounts", "api_keys")
               for key, count in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))}}
    response = admin_client.post(f"/admin/smsgate/tenant/{tenant.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    tenant.refresh_from_db()
    assert (tenant.slo_delivered_percent, tenant.slo_delivered_seconds) == (99, 30)
