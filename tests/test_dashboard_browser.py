"""The dashboard and the admin index in a real headless Chromium at 1366×768, logged in as staff."""

import os

import pytest

from tests.browser_dashboard import check_page, chromium, logged_in, needs_chromium, screenshot
from tests.dashboard_support import seed, seed_failing_carrier

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]
DASHBOARD_IDS = ["alerts", "today", "today-failed", "today-scheduled", "carriers", "health", "chart-volume",
                 "chart-delivery-rate", "chart-cost", "chart-carrier-attempts", "chart-provider-cost",
                 "chart-variants", "variants"]


@pytest.fixture
def browser_urls(settings):
    settings.ROOT_URLCONF = "tests.browser_dashboard"
    settings.X_FRAME_OPTIONS = "SAMEORIGIN"  # the probe page frames the page it measures


def test_the_dashboard_fits_1366_and_shows_every_section(live_server, browser_urls, tmp_path, admin_user, tenant,
                                                         other_tenant):
    seed(tenant, other_tenant)
    seed_failing_carrier(tenant)
    page = check_page(live_server, tmp_path, admin_user, "/admin/dashboard/", DASHBOARD_IDS)
    assert page["title"].startswith("Dashboard | smsgate")
    assert page["found"] == DASHBOARD_IDS
    assert page["scrollWidth"] <= page["innerWidth"] == 1366
    assert page["console"] == []


def test_the_dashboard_draws_the_seeded_numbers(live_server, browser_urls, tmp_path, admin_user, tenant,
                                                other_tenant):
    seed(tenant, other_tenant)
    seed_failing_carrier(tenant)
    dom = chromium(tmp_path, logged_in(live_server, admin_user, f"/admin/dashboard/?tenant={tenant.pk}"),
                   "--dump-dom").stdout
    assert "<h1>Dashboard</h1>" in dom
    assert "websms failed 16 of 16 send attempts" in " ".join(dom.split())
    assert 'data-label="websms" data-total="16"' in dom
    assert 'data-series="queued" data-value="6"' in dom  # 2 queued, 4 retrying
    assert 'data-label="promo/B" data-total="50.0"' in dom
    assert dom.count("<rect") >= 12

    kept = os.environ.get("DASHBOARD_SCREENSHOT")
    shot = screenshot(live_server, tmp_path, admin_user, f"/admin/dashboard/?tenant={tenant.pk}", keep_as=kept,
                      size=(1366, 1100))
    assert shot.stat().st_size > 30_000  # a blank or error page compresses to a few kB


def test_the_admin_index_fits_1366_and_leads_with_the_dashboard(live_server, browser_urls, tmp_path, admin_user):
    ids = ["dashboard-link", "smsgate-message"]
    page = check_page(live_server, tmp_path, admin_user, "/admin/", ids)
    assert page["title"] == "Console | smsgate"
    assert page["found"] == ids
    assert page["scrollWidth"] <= page["innerWidth"] == 1366
    assert page["console"] == []
