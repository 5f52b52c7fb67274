"""The message log and a message's page in a real headless Chromium at 1366x768, with a realistic log."""

import os
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from tests.browser_msglog import CHROMIUM, logged_in_url, visit
from tests.messages_log_support import seed_log

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="chromium is not installed (scripts/ensure-chromium installs it; CI always runs this test)",
)
# Where the screenshots kept in docs/ are written when MESSAGES_SCREENSHOTS is set (else only the test's tmp dir).
SCREENSHOTS = os.environ.get("MESSAGES_SCREENSHOTS")
LIST_COLUMNS = ["th.column-id", "th.column-to", "th.column-status_badge", "th.column-carrier",
                "th.column-attempts_used", "th.column-problem", "th.column-next_try"]


@pytest.fixture
def log(settings, tenant, twilio):
    settings.ROOT_URLCONF = "tests.browser_urls"
    return seed_log(tenant, twilio, settings)


def keep(screenshot: Path) -> None:
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 30_000  # a blank or error page compresses to a few kB
    if SCREENSHOTS:
        shutil.copy(screenshot, Path(SCREENSHOTS) / screenshot.name)


def test_the_log_fits_1366_pixels_with_its_key_columns(live_server, admin_user, log, tmp_path):
    path = reverse("admin:smsgate_message_changelist") + "?q=&o=-1"
    rows = [f'input.action-select[value="{message.pk}"]' for message in log.values()]
    result = visit(tmp_path, logged_in_url(live_server, admin_user, path),
                   [*LIST_COLUMNS, "#changelist-filter", "#searchbar", 'select[name="action"]', *rows],
                   screenshot=tmp_path / "messages.png")
    assert result.checks["innerWidth"] == 1366
    assert result.checks["missing"] == []
    assert result.checks["pageOverflow"] <= 0, "the page scrolls sideways"
    assert result.checks["scrollingSideways"] == [], "the table scrolls sideways"
    assert result.console_errors == []
    keep(tmp_path / "messages.png")


def test_a_failed_messages_page_shows_summary_and_timeline_at_the_top(live_server, admin_user, log, tmp_path):
    path = reverse("admin:smsgate_message_change", args=[log["exhausted"].pk])
    result = visit(tmp_path, logged_in_url(live_server, admin_user, path),
                   ["#message-summary .message-status", "#message-summary .message-error", "#retry-now", "#resend",
                    "#message-timeline tr.event-attempt", "details"],
                   screenshot=tmp_path / "message-detail.png")
    assert result.checks["missing"] == []
    assert result.checks["pageOverflow"] <= 0 and result.checks["scrollingSideways"] == []
    assert result.console_errors == []
    keep(tmp_path / "message-detail.png")
