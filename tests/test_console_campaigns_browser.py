"""Campaign and template pages in a real headless Chromium at 1366×768, with data in them."""

import re

import pytest
from django.urls import reverse

from campaigns.models import Campaign, Contact, Tag
from templates.models import TemplateVariant
from tests.browser import keep_screenshot, needs_chromium, open_page
from tests.campaign_console import seed_campaign

pytestmark = needs_chromium


@pytest.fixture
def console(tenant):
    """Campaigns at every stage."""
    sent = seed_campaign(tenant, name="Spring promo: 20% off everything in every store until Sunday night")
    seed_campaign(tenant, name="Autumn reminder")
    parents = Tag.objects.create(tenant=tenant, name="parents")
    Contact.objects.create(tenant=tenant, phone="+5511911110001", name="Ana").tags.add(parents)
    draft = Campaign.objects.create(tenant=tenant, name="Kermesse", body="Oi {name}, a kermesse é sábado!")
    draft.tags.add(parents)
    return sent, draft


def page_of(tmp_path, live_server, user, path, **options) -> str:
    """The DOM of `path` as `user` sees it, once it is checked to fit 1366 pixels with a silent console."""
    page = open_page(live_server, user, path, tmp_path, **options)
    page.assert_fits()
    return page.dom


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

    dom = page_of(tmp_path, live_server, admin_user, reverse("admin:campaigns_campaign_change", args=[sent.pk]),
                  size=(1366, 1100), screenshot=tmp_path / "campaign.png")
    keep_screenshot(tmp_path / "campaign.png", min_bytes=20_000)
    assert 'id="locked-note"' in dom and 'id="cancel-button"' in dom and 'id="variant-results"' in dom
    assert 'id="id_name"' not in dom and 'id="schedule-button"' not in dom


def test_the_template_page_previews_each_variant_and_warns(console, tmp_path, live_server, admin_user):
    sent, _ = console
    TemplateVariant.objects.filter(template=sent.template, label="B").update(body="{name}, sua promoção chegou!")
    url = reverse("admin:templates_messagetemplate_change", args=[sent.template_id])
    dom = page_of(tmp_path, live_server, admin_user, url, wait_for="#preview-table tbody tr", size=(1366, 1450),
                  screenshot=tmp_path / "template.png")
    assert 'data-label="A"' in dom and 'data-label="B"' in dom
    assert "Oi name, -20% hoje: https://gateway.example.com/r/AbCdEfGhIjKl" in dom
    assert '<td class="preview-encoding">UCS-2, 26 characters</td><td class="preview-segments">1</td>' in dom
    assert 'data-variable="URL"' in dom  # a sample value per variable
    assert 'id="variables-warning"' in dom and "({URL} only in A)" in dom
    assert 'id="variant-results"' in dom
    assert re.search(r'<p id="preview-error" class="errornote" style="display: ?none;?"></p>', dom)  # no error
    keep_screenshot(tmp_path / "template.png", min_bytes=20_000)


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
