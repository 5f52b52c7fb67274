"""The message log and a message's page in a real headless Chromium at 1366x768, with a realistic log."""

import pytest
from django.urls import reverse

from tests.browser import keep_screenshot, needs_chromium, open_page
from tests.messages_log_support import seed_log

pytestmark = needs_chromium
LIST_COLUMNS = ["th.column-id", "th.column-to", "th.column-status_badge", "th.column-carrier",
                "th.column-attempts_used", "th.column-problem", "th.column-next_try"]


@pytest.fixture
def log(settings, tenant, twilio):
    return seed_log(tenant, twilio, settings)


def test_the_log_fits_1366_pixels_with_its_key_columns(live_server, admin_user, log, tmp_path):
    path = reverse("admin:smsgate_message_changelist") + "?q=&o=-1"
    rows = [f'input.action-select[value="{message.pk}"]' for message in log.values()]
    page = open_page(live_server, admin_user, path, tmp_path, screenshot=tmp_path / "messages.png",
                     expect=[*LIST_COLUMNS, "#changelist-filter", "#searchbar", 'select[name="action"]', *rows])
    assert page.missing == []
    page.assert_fits()
    keep_screenshot(tmp_path / "messages.png", min_bytes=30_000)


def test_a_failed_messages_page_shows_summary_and_timeline_at_the_top(live_server, admin_user, log, tmp_path):
    path = reverse("admin:smsgate_message_change", args=[log["exhausted"].pk])
    page = open_page(live_server, admin_user, path, tmp_path, screenshot=tmp_path / "message-detail.png",
                     expect=["#message-summary .message-status", "#message-summary .message-error", "#retry-now",
                             "#resend", "#message-timeline tr.event-attempt", "details"])
    assert page.missing == []
    page.assert_fits()
    keep_screenshot(tmp_path / "message-detail.png", min_bytes=30_000)
