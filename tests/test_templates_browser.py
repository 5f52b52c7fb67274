"""A journey's text in the template console, in a real headless Chromium at 1366x768: realistic samples."""

import pytest
from django.urls import reverse

from templates.models import MessageTemplate, TemplateVariant
from tests.browser import keep_screenshot, needs_chromium, open_page
from webhooks.models import RecoverySettings

pytestmark = needs_chromium


@pytest.fixture
def recovery_text(tenant):
    """The tenant's PIX recovery text, as an operator left it: A/B, B without the name."""
    template = MessageTemplate.objects.get(tenant=tenant, code="recovery-pix")
    TemplateVariant.objects.create(template=template, label="B", weight=1,
                                   body="Seu PIX de {amount} expira hoje. Pague em {payment_link}")
    return template


def test_the_recovery_text_previews_with_realistic_values_as_the_operator_types(live_server, admin_user,
                                                                                  recovery_text, tmp_path):
    path = reverse("admin:templates_messagetemplate_change", args=[recovery_text.pk])
    page = open_page(live_server, admin_user, path, tmp_path, screenshot=tmp_path / "template-recovery.png",
                     type_into="textarea[name='variants-0-body']",
                     text="Ola {first_name}, falta pagar {amount}: {payment_link}",
                     wait_text="Ola Maria, falta pagar R$ 1.234,56: https://pay.example.com/p/abc123",
                     expect=["#journey-variables", "#template-preview tr[data-label='B']",
                             "input[data-variable='payment_link']"])
    assert page.missing == []
    assert "Seu PIX de R$ 1.234,56 expira hoje. Pague em https://pay.example.com/p/abc123" in page.dom
    assert "Sent by a journey, which gives {name}, {first_name}, {amount}, {payment_link}." in page.dom
    page.assert_fits()
    keep_screenshot(tmp_path / "template-recovery.png", min_bytes=30_000)


def test_the_recovery_settings_page_fits_and_leads_to_the_text(live_server, admin_user, recovery_text, tmp_path):
    settings_row = RecoverySettings.objects.create(tenant=recovery_text.tenant,
                                                   fallback_link="https://loja.example.com.br/checkout/pix")
    path = reverse("admin:webhooks_recoverysettings_change", args=[settings_row.pk])
    text_url = reverse("admin:templates_messagetemplate_change", args=[recovery_text.pk])
    page = open_page(live_server, admin_user, path, tmp_path, screenshot=tmp_path / "recovery-settings.png",
                     expect=["input[name='fallback_link']", f"a[href='{text_url}']"])
    assert page.missing == []
    page.assert_fits()
    keep_screenshot(tmp_path / "recovery-settings.png", min_bytes=20_000)
