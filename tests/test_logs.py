"""GET /api/v1/sms/logs and /logs/{id}: filters, pagination, tenant isolation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from smsgate.models import Message
from smsgate.sending.tasks import sweep_due_messages_task
from tests.conftest import client_for
from tests.sending import submit_one

pytestmark = pytest.mark.django_db


def make(tenant, days_ago=0, to="+5511987654321", **kwargs):
    message = submit_one(tenant=tenant, to=to, body="hello", **kwargs)
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return message


def test_it_lists_only_the_callers_messages(api, tenant, other_tenant):
    mine = make(tenant)
    make(other_tenant, to="+14155550123")
    response = api.get("/api/v1/sms/logs")
    assert response.status_code == 200
    assert [row["id"] for row in response.data["results"]] == [mine.pk]


def test_it_filters_by_date_range(api, tenant):
    make(tenant, days_ago=10)
    recent = make(tenant, days_ago=1)
    today = timezone.now().date()
    start = (today - timedelta(days=2)).isoformat()
    response = api.get("/api/v1/sms/logs", {"start_date": start, "end_date": today.isoformat()})
    assert [row["id"] for row in response.data["results"]] == [recent.pk]


def test_the_end_date_includes_that_whole_day(api, tenant):
    message = make(tenant)
    response = api.get("/api/v1/sms/logs", {"end_date": timezone.now().date().isoformat()})
    assert [row["id"] for row in response.data["results"]] == [message.pk]


@pytest.mark.parametrize("url", ["/api/v1/sms/logs", "/api/v1/sms/stats"])
@pytest.mark.parametrize("query", [
    {"start_date": "yesterday"}, {"start_date": "2026-05-02", "end_date": "2026-05-01"},
    {"end_date": "9999-12-31"}, {"end_date": "0001-01-01"}, {"start_date": "0001-01-01"},
    {"start_date": "1999-12-31"}, {"end_date": "9999-01-01"},
])
def test_bad_dates_are_400_naming_the_field(api, url, query):
    response = api.get(url, query)
    assert response.status_code == 400
    assert set(response.data) <= {"start_date", "end_date"} and response.data


def test_the_widest_dates_are_accepted(api, tenant):
    make(tenant)
    widest = {"start_date": "2000-01-01", "end_date": "9998-12-31"}
    assert api.get("/api/v1/sms/logs", widest).data["count"] == 1
    assert api.get("/api/v1/sms/stats", widest).data["totals"]["messages"] == 1
    assert api.get("/api/v1/sms/stats", {"end_date": "2000-01-01"}).data["totals"]["messages"] == 0


def test_it_filters_by_status_and_phone(api, tenant):
    make(tenant, to="+5511911112222")
    scheduled = make(tenant, send_at=timezone.now() + timedelta(hours=1))
    assert [r["id"] for r in api.get("/api/v1/sms/logs", {"status": "scheduled"}).data["results"]] == [scheduled.pk]
    assert api.get("/api/v1/sms/logs", {"phone": "+5511911112222"}).data["count"] == 1


def test_it_pages_results(api, tenant):
    for _ in range(55):
        make(tenant)
    first = api.get("/api/v1/sms/logs")
    assert first.data["count"] == 55 and len(first.data["results"]) == 50 and first.data["next"]
    assert len(api.get(first.data["next"]).data["results"]) == 5


def test_a_log_shows_its_events(api, tenant):
    message = make(tenant)
    sweep_due_messages_task()
    response = api.get(f"/api/v1/sms/logs/{message.pk}")
    assert response.status_code == 200
    assert response.data["status"] == "sent"
    assert [(e["kind"], e["provider"], e["ok"]) for e in response.data["events"]] == [("attempt", "memory", True)]


def test_another_tenants_log_is_404(tenant, other_tenant):
    theirs = make(other_tenant, to="+14155550123")
    assert client_for(tenant).get(f"/api/v1/sms/logs/{theirs.pk}").status_code == 404


def test_logs_need_a_key(client):
    assert client.get("/api/v1/sms/logs").status_code == 401
