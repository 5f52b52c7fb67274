"""The admin dashboard draws the database's numbers for the chosen tenant and range."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from smsgate.resilience import breaker_for
from tests.dashboard_support import seed

pytestmark = pytest.mark.django_db


def bars(html: str, chart_id: str) -> dict:
    """{label: total} of one chart's bars."""
    figure = html.split(f'id="chart-{chart_id}"', 1)[1].split("</figure>", 1)[0]
    return {label: float(total) for label, total in re.findall(r'data-label="([^"]+)" data-total="([^"]+)"', figure)}


def days(*totals):
    """{date string: total} for (days ago, total) pairs."""
    today = timezone.localdate()
    return {str(today - timedelta(days=ago)): total for ago, total in totals}


def test_charts_show_one_tenants_numbers(admin_client, tenant, other_tenant):
    seed(tenant, other_tenant)
    html = admin_client.get("/admin/dashboard/", {"tenant": tenant.pk}).content.decode()
    assert bars(html, "volume") == days((1, 4.0), (0, 4.0))
    assert bars(html, "delivery-rate") == days((1, 75.0), (0, 50.0))
    assert bars(html, "cost") == days((1, 0.15), (0, 0.04))
    assert bars(html, "provider-success") == {"smsc": 66.7, "twilio": 100.0}
    providers = html.split('id="providers"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"<td>smsc</td><td>3</td><td>2</td><td>1</td>\s*<td>2</td>\s*<td>66.7%</td>\s*<td>33.3%</td>",
                     providers)
    assert bars(html, "provider-cost") == {"smsc": 0.04, "twilio": 0.15}
    assert bars(html, "variants") == {"promo/B": 50.0}  # 1 click of 2 delivered
    assert 'data-series="failed" data-value="1"' in html
    assert "aircall" not in html


def test_all_tenants_and_provider_health(admin_client, tenant, other_tenant, settings):
    seed(tenant, other_tenant)
    for _ in range(settings.SMS_BREAKER_FAILURES):
        breaker_for("smsc:default").record_failure()
    html = admin_client.get("/admin/dashboard/").content.decode()
    assert bars(html, "provider-cost") == {"aircall": 9.99, "smsc": 0.04, "twilio": 0.15}
    health = html.split('id="health"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"<td>smsc</td><td>1</td><td>1</td><td>100.0%</td>\s*<td class=\"breaker\">open</td>", health)
    assert re.search(r"<td>twilio</td><td>1</td><td>0</td><td>0.0%</td>\s*<td class=\"breaker\">closed</td>", health)


def test_a_date_range_leaves_other_days_out(admin_client, tenant, other_tenant):
    seed(tenant, other_tenant)
    today = days((0, None)).popitem()[0]
    html = admin_client.get("/admin/dashboard/", {"tenant": tenant.pk, "since": today}).content.decode()
    assert bars(html, "volume") == days((0, 4.0))


def test_the_admin_index_links_to_the_dashboard(admin_client):
    assert 'href="/admin/dashboard/"' in admin_client.get("/admin/").content.decode()


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
