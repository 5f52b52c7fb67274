"""Campaign and template pages in a real headless Chromium at 1366×768, with data in them."""

import os
import re
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from campaigns.models import Campaign, Contact, Tag
from templates.models import TemplateVariant
from tests.browser_campaigns import CHROMIUM, open_page, screenshot
from tests.campaign_console import seed_campaign

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="chromium is not installed (scripts/ensure-chromium installs it; CI always runs this test)",
)


@pytest.fixture
def console(live_server, settings, tenant, admin_user):
    """The browser URLs, pages that may be framed by the measuring page, and campaigns at every stage."""
    settings.ROOT_URLCONF = "tests.browser_campaigns"
    settings.X_FRAME_OPTIONS = "SAMEORIGIN"
    sent = seed_campaign(tenant, name="Spring promo: 20% off everything in every store until Sunday night")
    seed_campaign(tenant, name="Autumn reminder")
    parents = Tag.objects.create(tenant=tenant, name="parents")
    Contact.objects.create(tenant=tenant, phone="+5511911110001", name="Ana").tags.add(parents)
    draft = Campaign.objects.create(tenant=tenant, name="Kermesse", body="Oi {name}, a kermesse é sábado!")
    draft.tags.add(parents)
    return sent, draft


def page_of(tmp_path, live_server, user, url, **options):
    page = open_page(tmp_path, live_server, user, url, **options)
    assert page["url"] == url.split("?")[0], page["url"]  # not the login page
    assert page["scrollWidth"] <= page["innerWidth"] == 1366, (page["scrollWidth"], page["innerWidth"])
    assert page["console_errors"] == []
    return page["dom"]


def keep(shot: Path, name: str) -> None:
    """Copy a screenshot to $CONSOLE_SCREENSHOTS (docs/screenshots when refreshing the docs' pictures)."""
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000  # not blank
    if os.environ.get("CONSOLE_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["CONSOLE_SCREENSHOTS"]) / name)


def test_the_campaign_list_shows_progress_bars(console, tmp_path, live_server, admin_user):
    url = reverse("admin:campaigns_campaign_changelist")
    dom = page_of(tmp_path, live_server, admin_user, url)
    assert dom.count('class="campaign-progress"') == 3
    assert dom.count('class="part-delivered"') == 2
    assert dom.count("sent 7 (70%)") == 2 and "clicked 3 (43%)" in dom


def test_the_campaign_form_has_its_buttons_and_a_started_one_is_locked(console, tmp_path, live_server, admin_user):
    sent, draft = console
    dom = page_of(tmp_path, live_server, admin_user, reverse("admin:campaigns_campaign_change", args=[draft.pk]))
    for element in ('id="id_name"', 'id="id_message_type"', 'id="id_recipients_csv"', 'id="schedule-button"',
                    'id="cancel-button"', 'class="campaign-progress"'):
        assert element in dom
    keep(screenshot(tmp_path, live_server, admin_user,
                    reverse("admin:campaigns_campaign_change", args=[sent.pk]), height=1100), "campaign.png")

    dom = page_of(tmp_path, live_server, admin_user, reverse("admin:campaigns_campaign_change", args=[sent.pk]))
    assert 'id="locked-note"' in dom and 'id="cancel-button"' in dom and 'id="variant-results"' in dom
    assert 'id="id_name"' not in dom and 'id="schedule-button"' not in dom


def test_the_template_page_previews_each_variant_and_warns(console, tmp_path, live_server, admin_user):
    sent, _ = console
    TemplateVariant.objects.filter(template=sent.template, label="B").update(body="{name}, sua promoção chegou!")
    url = reverse("admin:templates_messagetemplate_change", args=[sent.template_id])
    dom = page_of(tmp_path, live_server, admin_user, url, wait_for="#preview-table tbody tr")
    assert 'data-label="A"' in dom and 'data-label="B"' in dom
    assert "Oi name, -20% hoje: https://gateway.example.com/r/AbCdEfGhIjKl" in dom
    assert '<td class="preview-encoding">UCS-2, 26 characters</td><td class="preview-segments">1</td>' in dom
    assert 'data-variable="URL"' in dom  # a sample value per variable
    assert 'id="variables-warning"' in dom and "({URL} only in A)" in dom
    assert 'id="variant-results"' in dom
    assert re.search(r'<p id="preview-error" class="errornote" style="display: ?none;?"></p>', dom)  # no error
    keep(screenshot(tmp_path, live_server, admin_user, url, height=1450), "template.png")


def test_the_preview_follows_what_the_operator_types(console, tmp_path, live_server, admin_user):
    sent, _ = console
    url = reverse("admin:templates_messagetemplate_change", args=[sent.template_id])
    dom = page_of(tmp_path, live_server, admin_user, url, type_into="textarea[name='variants-0-body']",
                  text="Promoção relâmpago, {name}! " * 3, wait_text="Promoção relâmpago, name!")
    row = re.search(r'<tr data-label="A">.*?</tr>', dom).group()
    assert "Promoção relâmpago, name! " * 3 in row
    assert '<td class="preview-encoding">UCS-2, 78 characters</td><td class="preview-segments">2</td>' in row
    warning = re.search(r'<p id="preview-warning"[^>]*>([^<]*)</p>', dom).group(1)
    assert "({URL} only in B)" in warning  # A lost its link as it was retyped
