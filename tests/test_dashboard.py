"""The admin dashboard draws the database's numbers for the chosen tenant and range, and links to them."""

import html as html_lib
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from smsgate.console.periods import day_end, day_start
from smsgate.models import Message
from smsgate.sending.resilience import breaker_for
from smsgate.statuses import Status
from tests.dashboard_support import add_attempts, add_message, seed, seed_failing_carrier

pytestmark = pytest.mark.django_db


def section(html: str, element_id: str, end: str = "</table>") -> str:
    return html.split(f'id="{element_id}"', 1)[1].split(end, 1)[0]


def bars(html: str, chart_id: str) -> dict:
    """{label: total} of one chart's bars (None where the chart writes a note instead of a bar)."""
    figure = section(html, f"chart-{chart_id}", "</figure>")
    return {label: float(total) if total else None
            for label, total in re.findall(r'data-label="([^"]+)" data-total="([^"]*)"', figure)}


def cells(row_html: str) -> list[str]:
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)]


def carrier_rows(html: str) -> list[list[str]]:
    """The carriers table, one list of cell texts per carrier, in page order."""
    return [cells(row) for row in re.findall(r'<tr class="carrier.*?</tr>', section(html, "carriers"), re.S)]


def listed_messages(client, url: str) -> set[int]:
    """The ids of the messages the admin message list at url shows."""
    response = client.get(html_lib.unescape(url))
    assert response.status_code == 200, url
    assert "?e=1" not in response.get("Location", "")
    return {int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', response.content.decode())}


def link(html: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}" href="([^"]+)"', html).group(1)


def days(*totals):
    """{date string: total} for (days ago, total) pairs."""
    today = timezone.localdate()
    return {str(today - timedelta(days=ago)): total for ago, total in totals}


def test_charts_and_carriers_show_one_tenants_numbers(admin_client, tenant, other_tenant):
    seed(tenant, other_tenant)
    html = admin_client.get("/admin/dashboard/", {"tenant": tenant.pk}).content.decode()
    assert bars(html, "volume") == days((1, 4.0), (0, 4.0))
    assert bars(html, "delivery-rate") == days((1, 75.0), (0, 50.0))
    assert bars(html, "cost") == days((1, 0.15), (0, 0.04))
    assert bars(html, "carrier-attempts") == {"smsc": 1.0, "twilio": 1.0}
    assert bars(html, "provider-cost") == {"smsc": 0.04, "twilio": 0.15}
    assert bars(html, "variants") == {"promo/B": 50.0}  # 1 click of 2 delivered
    rows = carrier_rows(html)
    assert [row[0] for row in rows] == ["smsc", "twilio"]  # the one with a failed attempt first
    assert rows[0][:4] + rows[0][5:9] == ["smsc", "1", "1", "100.0%", "2", "1", "2", "33.3%"]
    assert 'data-series="failed" data-value="1"' in html
    assert "carrier-alert" not in html  # one failed attempt of one is not an alarm
    assert "aircall" not in html


def test_a_carrier_failing_every_attempt_is_the_loudest_thing_on_the_page(admin_client, tenant):
    seed_failing_carrier(tenant)
    html = admin_client.get("/admin/dashboard/").content.decode()
    alert = section(html, "alerts", "</div>")
    assert "websms failed 16 of 16 send attempts (100.0%); latest error: 30003: Unreachable handset." in " ".join(
        alert.split())
    assert "twilio" not in alert and "spothit" not in alert
    assert html.index('id="alerts"') < html.index('id="today"') < html.index('id="carriers"')
    rows = carrier_rows(html)
    assert [row[0] for row in rows] == ["websms", "spothit", "twilio"]  # not alphabetical: loudest first
    assert rows[0][:5] == ["websms", "16", "16", "100.0%", "30003: Unreachable handset"]
    assert '<tr class="carrier failing" data-provider="websms">' in html
    assert bars(html, "carrier-attempts") == {"websms": 16.0, "spothit": 2.0, "twilio": 3.0}


def test_a_carrier_without_receipts_shows_no_receipts_not_zero(admin_client, tenant):
    seed_failing_carrier(tenant)
    html = admin_client.get("/admin/dashboard/").content.decode()
    spothit = next(row for row in carrier_rows(html) if row[0] == "spothit")
    assert spothit[5:9] == ["2", "0", "0", "no receipts"]
    twilio = next(row for row in carrier_rows(html) if row[0] == "twilio")
    assert twilio[8] == "100.0%"
    assert 'class="number delivery-rate">0.0%' not in section(html, "carriers")


def test_clicks_per_delivered_message_without_deliveries_is_no_receipts(admin_client, tenant, other_tenant):
    seed(tenant, other_tenant)
    Message.objects.filter(status=Status.DELIVERED).update(status=Status.SENT)
    html = admin_client.get("/admin/dashboard/", {"tenant": tenant.pk}).content.decode()
    assert bars(html, "variants") == {"promo/B": None}
    assert "no receipts" in section(html, "chart-variants", "</figure>")
    assert cells(re.search(r"<tr><td>promo/B.*?</tr>", html, re.S).group(0))[-1] == "no receipts"


def test_a_scheduled_message_counts_on_its_send_date(admin_client, tenant):
    today = timezone.localdate()
    later_today = day_end(today) - timedelta(minutes=1)
    next_week = day_start(today + timedelta(days=7)) + timedelta(hours=9)
    for send_at in (later_today, next_week):
        add_message(tenant, Status.SCHEDULED, "", days_ago=2, send_at=send_at)
    add_message(tenant, Status.DELIVERED, days_ago=2)
    query = {"since": str(today - timedelta(days=3)), "until": str(today + timedelta(days=7))}
    html = admin_client.get("/admin/dashboard/", query).content.decode()
    assert bars(html, "volume") == {str(today - timedelta(days=2)): 1.0, str(today): 1.0,
                                    str(today + timedelta(days=7)): 1.0}
    assert "<span class=\"count\">1</span> Scheduled" in html


def test_todays_summary_links_to_exactly_those_messages(admin_client, tenant, other_tenant):
    mine = {
        "sent": [add_message(tenant, Status.SENT)],
        "delivered": [add_message(tenant, Status.DELIVERED), add_message(tenant, Status.DELIVERED)],
        "failed": [add_message(tenant, Status.FAILED, ""), add_message(tenant, Status.UNDELIVERED)],
        "waiting": [add_message(tenant, Status.QUEUED, ""), add_message(tenant, Status.SENDING, "")],
        "scheduled": [add_message(tenant, Status.SCHEDULED, "",
                                  send_at=day_end(timezone.localdate()) - timedelta(seconds=1))],
    }
    add_message(tenant, Status.FAILED, "", days_ago=1)  # yesterday
    add_message(other_tenant, Status.FAILED, "")  # another tenant
    add_message(tenant, Status.SCHEDULED, "", send_at=timezone.now() + timedelta(days=2))  # not today
    html = admin_client.get("/admin/dashboard/", {"tenant": tenant.pk}).content.decode()
    for key, messages in mine.items():
        tile = section(html, f"today-{key}", "</a>")
        assert f'<span class="count">{len(messages)}</span>' in tile
        assert listed_messages(admin_client, link(html, f"today-{key}")) == {m.pk for m in messages}, key


def test_carrier_numbers_link_to_the_messages_behind_them(admin_client, tenant):
    seeded = seed_failing_carrier(tenant)
    also_failed_elsewhere = seeded["twilio"][0]
    add_attempts(also_failed_elsewhere, "websms")  # websms failed it first, then twilio delivered it
    html = admin_client.get("/admin/dashboard/").content.decode()
    websms = re.search(r'data-provider="websms">.*?</tr>', html, re.S).group(0)
    urls = re.findall(r'href="([^"]+)"', websms)
    assert listed_messages(admin_client, urls[1]) == {m.pk for m in seeded["websms"]} | {also_failed_elsewhere.pk}
    twilio = re.search(r'data-provider="twilio">.*?</tr>', html, re.S).group(0)
    attempts, _, accepted, delivered, *_ = re.findall(r'href="([^"]+)"', twilio)
    assert listed_messages(admin_client, delivered) == {m.pk for m in seeded["twilio"]}
    assert listed_messages(admin_client, accepted) == {m.pk for m in seeded["twilio"]}
    assert listed_messages(admin_client, attempts) == {m.pk for m in seeded["twilio"]}
    failed_bar = re.search(r'<a href="([^"]+)">\s*<rect class="segment" data-series="failed attempts"',
                           section(html, "chart-carrier-attempts", "</figure>")).group(1)
    assert listed_messages(admin_client, failed_bar) == {m.pk for m in seeded["websms"]} | {also_failed_elsewhere.pk}


def test_latency_percentiles_per_carrier(admin_client, tenant):
    for seconds in (1, 2, 3, 4, 5):
        message = add_message(tenant, Status.DELIVERED, "twilio")
        Message.objects.filter(pk=message.pk).update(
            sent_at=message.created_at + timedelta(seconds=seconds),
            delivered_at=message.created_at + timedelta(seconds=seconds + 10 * seconds))
        add_attempts(message, "twilio", ok=True)
    unconfirmed = add_message(tenant, Status.SENT, "spothit")
    Message.objects.filter(pk=unconfirmed.pk).update(sent_at=unconfirmed.created_at + timedelta(seconds=7))
    html = admin_client.get("/admin/dashboard/").content.decode()
    rows = {row[0]: row for row in carrier_rows(html)}
    assert rows["twilio"][9:11] == ["3.0 s / 4.8 s", "30.0 s / 48.0 s"]  # percentile_cont: 1 + 0.95 × 4 = 4.8
    assert rows["spothit"][9:11] == ["7.0 s / 7.0 s", "no receipts"]


def test_carrier_health_explains_the_breaker(admin_client, tenant, other_tenant, settings):
    seed(tenant, other_tenant)
    for _ in range(settings.SMS_BREAKER_FAILURES):
        breaker_for("smsc:default").record_failure()
    html = admin_client.get("/admin/dashboard/").content.decode()
    assert bars(html, "provider-cost") == {"aircall": 9.99, "smsc": 0.04, "twilio": 0.15}
    rows = [cells(row) for row in re.findall(r"<tr.*?</tr>", section(html, "health"), re.S)[1:]]
    assert rows[0] == ["smsc", "1", "1", "100.0%", "open",
                       f"Open: {settings.SMS_BREAKER_FAILURES} transient failures in a row, so sends to it pause; "
                       f"one trial send after {settings.SMS_BREAKER_COOLDOWN_SECONDS} s."]
    assert rows[1] == ["twilio", "1", "0", "0.0%", "closed", "Closed: sending normally."]


def test_without_redis_the_breaker_is_explained_as_not_tracked(admin_client, tenant, other_tenant, settings):
    seed(tenant, other_tenant)
    settings.REDIS_URL = ""
    html = admin_client.get("/admin/dashboard/").content.decode()
    assert "Not tracked: REDIS_URL is not set, so failures never pause sending to this carrier." in html
    assert "unknown" not in section(html, "health")


def test_a_date_range_leaves_other_days_out(admin_client, tenant, other_tenant):
    seed(tenant, other_tenant)
    today = days((0, None)).popitem()[0]
    html = admin_client.get("/admin/dashboard/", {"tenant": tenant.pk, "since": today}).content.decode()
    assert bars(html, "volume") == days((0, 4.0))


def test_a_malformed_send_day_filter_is_refused_not_a_500(admin_client, tenant):
    response = admin_client.get("/admin/smsgate/message/", {"send_day": "2026-13-01"})
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


def test_the_admin_is_smsgate_with_messages_first_and_a_prominent_dashboard_link(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "<title>Console | smsgate</title>" in html
    assert '<a href="/admin/dashboard/" id="dashboard-link"><strong>Dashboard</strong>' in html
    models = re.findall(r'<th scope="row" id="(\w+)-(\w+)"', html)
    assert models[0] == ("smsgate", "message")
    assert [app for app, _ in models][-1] == "django_celery_beat"
    assert html.index("dashboard-link") < html.index('id="smsgate-message"')


def test_the_root_redirects_to_the_console(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_only_staff_see_the_dashboard(client, django_user_model):
    assert client.get("/admin/dashboard/").status_code == 302
    user = django_user_model.objects.create_user("plain", password="pw")
    client.force_login(user)
    assert client.get("/admin/dashboard/").status_code == 302


def staff(django_user_model, *permissions):
    user = django_user_model.objects.create_user("staffer", password="pw", is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="smsgate", codename=codename))
    return user


def test_staff_without_the_permission_get_403_and_no_link(client, django_user_model, tenant, other_tenant):
    seed(tenant, other_tenant)
    client.force_login(staff(django_user_model, "view_tenant"))
    response = client.get("/admin/dashboard/")
    assert response.status_code == 403
    assert b"aircall" not in response.content
    assert 'href="/admin/dashboard/"' not in client.get("/admin/").content.decode()


def test_staff_with_view_message_see_the_dashboard_and_its_link(client, django_user_model, tenant, other_tenant):
    seed(tenant, other_tenant)
    client.force_login(staff(django_user_model, "view_message"))
    html = client.get("/admin/dashboard/").content.decode()
    assert bars(html, "provider-cost") == {"aircall": 9.99, "smsc": 0.04, "twilio": 0.15}
    assert 'href="/admin/dashboard/"' in client.get("/admin/").content.decode()


@pytest.mark.parametrize("query", [{"until": "9999-12-31"}, {"since": "0001-01-01"}, {"until": "0001-01-01"},
                                   {"since": "2026-05-02", "until": "2026-05-01"}])
def test_out_of_range_dates_show_a_message_and_the_default_range(admin_client, tenant, other_tenant, query):
    seed(tenant, other_tenant)
    response = admin_client.get("/admin/dashboard/", {"tenant": tenant.pk, **query})
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'class="errornote filter-error">(Since|Until): (Enter a date from 2000-01-01 to 9998-12-31|'
                     r"Until must not be before since)", html)
    assert bars(html, "volume") == days((1, 4.0), (0, 4.0))  # the chosen tenant, the last 30 days


def test_costs_in_different_currencies_get_a_chart_each_and_are_never_added(admin_client, tenant):
    for provider, price, currency in [("twilio", "0.05", "USD"), ("twilio", "0.05", "USD"), ("smsc", "1.40", "RUB")]:
        add_message(tenant, Status.DELIVERED, provider, price=price, price_unit=currency)
    html = admin_client.get("/admin/dashboard/").content.decode()
    assert bars(html, "cost") == days((0, 0.1)) and "Cost per day (USD)" in html
    assert bars(html, "cost-rub") == days((0, 1.4)) and "Cost per day (RUB)" in html
    assert bars(html, "provider-cost") == {"twilio": 0.1} and bars(html, "provider-cost-rub") == {"smsc": 1.4}
    rows = {row[0]: row for row in carrier_rows(html)}
    assert (rows["twilio"][-1], rows["smsc"][-1]) == ("0.10 USD", "1.40 RUB")
    rub = html_lib.unescape(re.search(r'id="chart-cost-rub".*?<a href="([^"]+)"', html, re.S).group(1))
    assert "price_unit=RUB" in rub
    assert len(listed_messages(admin_client, rub)) == 1
