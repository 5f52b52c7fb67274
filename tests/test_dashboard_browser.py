"""The dashboard renders its charts in a real headless Chromium, logged in as staff."""

import os
import shutil
import subprocess
from urllib.parse import quote

import pytest

from tests.dashboard_support import seed

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="chromium is not installed (scripts/ensure-chromium installs it; CI always runs this test)",
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,2000"]


def chromium(tmp_path, url, *action) -> subprocess.CompletedProcess:
    """Run headless Chromium once (seconds on a quiet machine; the deadline is for a slow, busy one)."""
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *action, url],
                          capture_output=True, text=True, timeout=120, check=True)


def test_the_dashboard_draws_the_seeded_numbers(live_server, settings, tmp_path, admin_user, tenant, other_tenant):
    settings.ROOT_URLCONF = "tests.browser_urls"
    seed(tenant, other_tenant)
    url = f"{live_server.url}/test-login/{admin_user.pk}?next={quote(f'/admin/dashboard/?tenant={tenant.pk}')}"

    dom = chromium(tmp_path, url, "--dump-dom").stdout
    assert "<h1>Dashboard</h1>" in dom
    for chart in ("volume", "delivery-rate", "cost", "provider-success", "provider-cost", "variants"):
        assert f'id="chart-{chart}"' in dom
    assert 'data-label="twilio" data-total="100.0"' in dom
    assert 'data-label="smsc" data-total="66.7"' in dom
    assert 'data-series="failed" data-value="1"' in dom
    assert 'data-label="promo/B" data-total="50.0"' in dom
    assert dom.count("<rect") >= 12

    screenshot = tmp_path / "dashboard.png"
    chromium(tmp_path, url, f"--screenshot={screenshot}")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 30_000  # a blank or error page compresses to a few kB
    shutil.copy(screenshot, os.environ.get("DASHBOARD_SCREENSHOT", tmp_path / "kept.png"))
