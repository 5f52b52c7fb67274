"""The dashboard and the admin index in a real headless Chromium at 1366×768, logged in as staff."""

import pytest

from tests.browser import keep_screenshot, needs_chromium, open_page
from tests.dashboard_support import seed, seed_failing_carrier, seed_slow_carrier

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]
DASHBOARD_IDS = ["alerts", "today", "today-failed", "today-scheduled", "carriers", "health", "latency", "chart-volume",
                 "chart-delivery-rate", "chart-cost", "chart-carrier-attempts", "chart-provider-cost",
                 "chart-variants", "variants"]


def test_the_dashboard_fits_1366_and_shows_every_section(live_server, tmp_path, admin_user, tenant, other_tenant):
    seed(tenant, other_tenant)
    seed_failing_carrier(tenant)
    seed_slow_carrier(tenant)
    page = open_page(live_server, admin_user, "/admin/dashboard/", tmp_path,
                     expect=[f"#{element_id}" for element_id in DASHBOARD_IDS] + [".slo-alert"],
                     screenshot=tmp_path / "dashboard-slo.png")
    assert page.title.startswith("Dashboard | smsgate")
    assert page.missing == []
    assert (f"smsc missed {tenant.slug}'s delivery SLO over the last hour: 59.3% of 27 messages delivered within "
            "60 s, the target is 95%.") in " ".join(page.dom.split())
    page.assert_fits()
    keep_screenshot(tmp_path / "dashboard-slo.png", min_bytes=30_000)


def test_the_dashboard_draws_the_seeded_numbers(live_server, tmp_path, admin_user, tenant, other_tenant):
    seed(tenant, other_tenant)
    seed_failing_carrier(tenant)
    page = open_page(live_server, admin_user, f"/admin/dashboard/?tenant={tenant.pk}", tmp_path, size=(1366, 1100),
                     screenshot=tmp_path / "dashboard.png")
    assert "<h1>Dashboard</h1>" in page.dom
    assert "websms failed 16 of 16 send attempts" in " ".join(page.dom.split())
    assert 'data-label="websms" data-total="16"' in page.dom
    assert 'data-series="queued" data-value="6"' in page.dom  # 2 queued, 4 retrying
    assert 'data-label="promo/B" data-total="50.0"' in page.dom
    assert page.dom.count("<rect") >= 12
    keep_screenshot(tmp_path / "dashboard.png", min_bytes=30_000)


def test_the_admin_index_fits_1366_and_leads_with_the_dashboard(live_server, tmp_path, admin_user):
    page = open_page(live_server, admin_user, "/admin/", tmp_path, expect=["#dashboard-link", "#smsgate-message"])
    assert page.title == "Console | smsgate"
    assert page.missing == []
    page.assert_fits()
