"""The template console: live preview (staff only, hostile input), variable mismatch warning, results by variant."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from templates.models import MessageTemplate, TemplateVariant
from tests.campaign_console import seed_campaign

pytestmark = pytest.mark.django_db

# The A/B test's settings as the change form shows them for a new template (fixed weights).
AB_FIXED = {"ab_mode": "fixed", "ab_goal": "clicks", "ab_min_sample": "100", "ab_confidence": "95"}

PREVIEW = "admin:templates_messagetemplate_preview"


def preview(client, payload, **extra):
    return client.post(reverse(PREVIEW), json.dumps(payload) if not isinstance(payload, bytes) else payload,
                       content_type="application/json", **extra)


def test_the_preview_renders_each_variant_with_its_encoding_and_parts(admin_client, settings):
    settings.PUBLIC_BASE_URL = "https://sms.acme.example"
    response = preview(admin_client, {"variants": [
        {"label": "A", "body": "Oi {name}, -20% hoje: {URL}"},
        {"label": "B", "body": "{name}, sua promoção chegou! " + "x" * 50},
        {"label": "C", "body": "Oi {name.upper}"},
    ], "sample": {"name": "Ana"}})
    assert response.status_code == 200
    a, b, c = response.json()["variants"]
    assert a["text"] == "Oi Ana, -20% hoje: https://sms.acme.example/r/AbCdEfGhIjKl"
    assert (a["encoding"], a["units"], a["segments"]) == ("gsm7", 58, 1)
    assert b["text"].startswith("Ana, sua promoção chegou!")
    assert (b["encoding"], b["units"], b["segments"]) == ("ucs2", 76, 2)  # ç and ã: 70 per SMS, 67 per part
    assert c["error"].startswith("Invalid variable {name.upper}")
    assert response.json()["variables"] == ["name", "URL"]
    assert response.json()["warning"] == ("The variants use different variables ({URL} only in A). Every send "
                                          "must still give all of them, whichever variant the recipient gets, "
                                          "or it is refused.")


def test_a_variable_without_a_sample_is_shown_by_its_name(admin_client):
    response = preview(admin_client, {"variants": [{"label": "A", "body": "Oi {PRENOM}"}]})
    assert response.json()["variants"][0]["text"] == "Oi PRENOM"
    assert response.json()["warning"] == ""


@pytest.mark.parametrize(("payload", "error"), [
    (b"{not json", {"detail": "The body must be JSON."}),
    (b"\xff\xfe", {"detail": "The body must be JSON."}),
    (b'{"sample": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", {"detail": "The body must be JSON."}),
    (b'{"variants": [{"label": "A", "body": "a\\ud800b"}]}',
     {"variants": {"0": {"body": ["Surrogate characters are not allowed: U+D800."]}}}),
    ([1, 2], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    ({"variants": [{"label": "A", "body": "x" * 1601}]},
     {"variants": {"0": {"body": ["Ensure this field has no more than 1600 characters."]}}}),
    ({"variants": [{"label": "A", "body": "a\x00b"}]},
     {"variants": {"0": {"body": ["Null characters are not allowed."]}}}),
    ({"variants": [{"label": "A", "body": "x"}] * 27},
     {"variants": {"non_field_errors": ["Ensure this field has no more than 26 elements."]}}),
    ({"variants": [{"label": "A", "body": 5}]}, {"variants": {"0": {"body": ["Must be a string."]}}}),
    ({"variants": [], "sample": {"name": {"a": 1}}}, {"sample": ["Must be a string."]}),
    ({"variants": [], "sample": {"name": "x" * 501}},
     {"sample": {"name": ["Ensure this field has no more than 500 characters."]}}),
], ids=["not JSON", "not UTF-8", "nested 100,000 deep", "lone surrogate", "a list",
     "overlong body", "NUL", "27 variants", "number body", "object sample",
        "overlong sample"])
def test_hostile_preview_input_is_a_400_with_the_reason(admin_client, payload, error):
    response = preview(admin_client, payload)
    assert response.status_code == 400
    assert response.json() == error


def test_the_preview_is_for_staff_only(client, admin_client):
    body = {"variants": [{"label": "A", "body": "Oi"}]}
    assert preview(client, body).status_code == 302  # to the login page
    client.force_login(get_user_model().objects.create_user("customer", password="x"))
    assert preview(client, body).status_code == 302
    client.force_login(get_user_model().objects.create_user("staff", password="x", is_staff=True))
    assert preview(client, body).status_code == 403  # staff without the template permissions
    assert admin_client.get(reverse(PREVIEW)).status_code == 405


def test_the_template_page_warns_when_variants_use_different_variables(admin_client, tenant):
    template = MessageTemplate.objects.create(tenant=tenant, code="promo")
    TemplateVariant.objects.create(template=template, label="A", body="Oi {name}: {URL}")
    TemplateVariant.objects.create(template=template, label="B", body="Oi {name}")
    page = admin_client.get(reverse("admin:templates_messagetemplate_change", args=[template.pk])).content.decode()
    assert 'id="variables-warning"' in page and "({URL} only in A)" in page
    assert 'id="template-preview"' in page


def test_saving_variants_with_different_variables_warns(admin_client, tenant):
    response = admin_client.post(reverse("admin:templates_messagetemplate_add"), {
        "tenant": tenant.pk, "code": "promo", "name": "", "is_active": "on",
        **AB_FIXED, "variants-TOTAL_FORMS": "2", "variants-INITIAL_FORMS": "0",
        "variants-0-label": "A", "variants-0-body": "Oi {name}: {URL}", "variants-0-weight": "1",
        "variants-1-label": "B", "variants-1-body": "Oi {nome}", "variants-1-weight": "1",
    }, follow=True)
    assert MessageTemplate.objects.get(code="promo").variants.count() == 2
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert warnings == ["The variants use different variables ({URL} only in A; {name} only in A; {nome} only in "
                        "B). Every send must still give all of them, whichever variant the recipient gets, or it "
                        "is refused."]


@pytest.mark.parametrize(("label", "body", "error"), [
    ("A", "x" * 1601, "at most 1600 characters"),
    ("A", "Oi\x00", "Null characters are not allowed."),
    ("A" * 21, "Oi", "at most 20 characters"),
    ("A", "Oi {0}", "Invalid variable {0}"),
], ids=["overlong body", "NUL", "overlong label", "positional variable"])
def test_a_bad_variant_is_a_form_error(admin_client, tenant, label, body, error):
    response = admin_client.post(reverse("admin:templates_messagetemplate_add"), {
        "tenant": tenant.pk, "code": "promo", "name": "", "is_active": "on",
        **AB_FIXED, "variants-TOTAL_FORMS": "1", "variants-INITIAL_FORMS": "0",
        "variants-0-label": label, "variants-0-body": body, "variants-0-weight": "1",
    })
    assert response.status_code == 200 and not MessageTemplate.objects.filter(code="promo").exists()
    assert error in str(response.context["inline_admin_formsets"][0].formset.errors)


def test_the_template_page_shows_results_by_variant(admin_client, tenant):
    campaign = seed_campaign(tenant)
    page = admin_client.get(reverse("admin:templates_messagetemplate_change",
                                    args=[campaign.template_id])).content.decode()
    # messages, sent, delivered (of sent), failed, clicked (of sent)
    assert "<tr><td>A</td><td>5</td><td>4</td><td>3 (75%)</td><td>1</td><td>2 (50%)</td></tr>" in page
    assert "<tr><td>B</td><td>4</td><td>3</td><td>2 (67%)</td><td>1</td><td>1 (33%)</td></tr>" in page


# --- a journey's text (templates.system) ------------------------------------------------------------

def test_a_journeys_text_lists_the_variables_its_journey_gives_and_previews_with_realistic_values(admin_client,
                                                                                                   tenant):
    template = MessageTemplate.objects.get(tenant=tenant, code="recovery-pix")
    page = admin_client.get(reverse("admin:templates_messagetemplate_change", args=[template.pk]))
    html = page.content.decode()
    assert "Sent by a journey, which gives {name}, {first_name}, {amount}, {payment_link}." in html
    assert page.context["preview_samples"]["amount"] == "R$ 1.234,56"
    assert 'id="preview-sample-values"' in html and "variables-warning" not in html


def test_a_journeys_text_warns_of_variables_its_journey_does_not_give(admin_client, tenant):
    template = MessageTemplate.objects.get(tenant=tenant, code="lead-code")
    variant = template.variants.get()
    response = admin_client.post(reverse("admin:templates_messagetemplate_change", args=[template.pk]), {
        "tenant": tenant.pk, "code": "lead-code", "name": template.name, "is_active": "on",
        **AB_FIXED, "variants-TOTAL_FORMS": "2", "variants-INITIAL_FORMS": "1",
        "variants-0-id": variant.pk, "variants-0-template": template.pk, "variants-0-label": "A",
        "variants-0-body": "Codigo {code} para {name}", "variants-0-weight": "1",
        "variants-1-label": "B", "variants-1-body": "Seu codigo: {code}", "variants-1-weight": "1",
    }, follow=True)
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert warnings == ["The journey does not give {name}: until every variant that can be chosen uses only its "
                        "variables, the built-in text is sent instead."]  # and no warning that A and B differ
    answer = preview(admin_client, {"code": "lead-code", "variants": [{"label": "A", "body": "Oi {name}"}]}).json()
    assert answer["warning"].startswith("The journey does not give {name}")


def test_enter_in_a_field_saves_the_template_rather_than_evaluating_its_test(admin_client, tenant):
    """Browsers submit a form through its first submit button when Enter is pressed in a field."""
    import re

    template = MessageTemplate.objects.create(tenant=tenant, code="promo", ab_mode="auto")
    TemplateVariant.objects.create(template=template, label="A", body="Oi")
    html = admin_client.get(reverse("admin:templates_messagetemplate_change", args=[template.pk])).content.decode()
    form = html.split('id="messagetemplate_form"', 1)[1]
    first = re.search(r'<(?:input|button)[^>]*type="submit"[^>]*>', form).group(0)
    assert 'name="_save"' in first, first
    assert "Evaluate now" in form  # the test's buttons are still there, further down
