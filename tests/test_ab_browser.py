"""An A/B test in the template console, in a real headless Chromium at 1366x768: results, state, winner."""

import pytest
from django.urls import reverse

from templates import ab
from tests.ab_support import auto_template, seed_results
from tests.browser import keep_screenshot, needs_chromium, open_page

pytestmark = needs_chromium


@pytest.fixture
def decided(tenant):
    """A spring promo whose three texts went to 330 parents: B was clicked most and won."""
    template = auto_template(tenant, ab_min_sample=100, bodies={
        "A": "Oi {name}! Kermesse sabado: -20% nas rifas com {URL}",
        "B": "{name}, a kermesse e sabado. Garanta suas rifas: {URL}",
        "C": "{name}: kermesse da escola sabado 14h. Rifas e brincadeiras: {URL}"})
    seed_results(template, {"A": (112, 9), "B": (108, 27), "C": (110, 11)})
    assert ab.evaluate(template.pk).chosen
    return template


def test_the_template_page_shows_the_test_and_its_winner(live_server, admin_user, decided, tmp_path):
    path = reverse("admin:templates_messagetemplate_change", args=[decided.pk])
    # Tall enough to show the test below the template's fields in the screenshot.
    page = open_page(live_server, admin_user, path, tmp_path, size=(1366, 1500), screenshot=tmp_path / "ab-test.png",
                     expect=["#ab-state[data-state='winner']", "#ab-results tr[data-variant='C']", "#ab-evaluate",
                             "#ab-reset", "select[name='ab_mode']", "input[name='ab_confidence']"])
    assert page.missing == []
    assert "winner B chosen" in page.dom and "% confidence" in page.dom
    assert "At the decision: A 9/112 = 8.0 %, B 27/108 = 25.0 %, C 11/110 = 10.0 %." in page.dom
    page.assert_fits()
    keep_screenshot(tmp_path / "ab-test.png", min_bytes=30_000)


def test_the_template_list_shows_the_winner(live_server, admin_user, decided, tmp_path):
    page = open_page(live_server, admin_user, reverse("admin:templates_messagetemplate_changelist"), tmp_path,
                     expect=["#result_list"])
    assert page.missing == [] and "winner B (" in page.dom
    page.assert_fits()
