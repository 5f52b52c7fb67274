"""Templates: safe rendering, deterministic weighted variants, the API, sends by template_code."""

from collections import Counter

import pytest
from django.urls import reverse

from smsgate.models import Message
from templates.models import MessageTemplate, TemplateVariant
from templates.rendering import MissingVariables, TemplateError, render, variables
from templates.services import pick_variant
from templates.system import SYSTEM_TEMPLATES
from tests.conftest import client_for

TEMPLATES = "/api/v1/sms/templates"


def created():
    """The templates a test made (each tenant also has its journeys' texts, templates.system)."""
    return MessageTemplate.objects.exclude(code__in=SYSTEM_TEMPLATES)


def test_it_renders_plain_and_french_style_variables():
    assert render("Bonjour {name}, {PRENOM_ENFANT} est inscrit.", {"name": "Ana", "PRENOM_ENFANT": "Léo"}) == (
        "Bonjour Ana, Léo est inscrit."
    )
    assert render("Braces {{literal}} and {x}", {"x": 1}) == "Braces {literal} and 1"


def test_a_missing_variable_is_named():
    with pytest.raises(MissingVariables) as exc:
        render("Hi {name}, code {code}", {"name": "Ana"})
    assert exc.value.names == ["code"]


@pytest.mark.parametrize("body", [
    "{name.__class__}", "{name[0]}", "{0}", "{}", "{name!r}", "{name:>10}", "unclosed {name", "{a-b}",
    "{name.__init__.__globals__}",
])
def test_anything_but_plain_names_is_refused(body):
    with pytest.raises(TemplateError):
        variables(body)


@pytest.fixture
def ab_template(tenant):
    template = MessageTemplate.objects.create(tenant=tenant, code="promo")
    TemplateVariant.objects.create(template=template, label="A", body="Hi {name}! 10% off", weight=3)
    TemplateVariant.objects.create(template=template, label="B", body="{name}, save 10% today", weight=1)
    return template


@pytest.mark.django_db
def test_variants_are_deterministic_and_follow_weights(ab_template):
    phones = [f"+55119{n:08d}" for n in range(4000)]
    first = [pick_variant(ab_template, p).label for p in phones]
    assert first == [pick_variant(ab_template, p).label for p in phones]  # same recipient, same variant
    share_a = Counter(first)["A"] / len(phones)
    assert 0.72 < share_a < 0.78  # weights 3:1


@pytest.mark.django_db
def test_a_zero_weight_variant_is_never_chosen(ab_template):
    ab_template.variants.filter(label="B").update(weight=0)
    assert {pick_variant(ab_template, f"+55119{n:08d}").label for n in range(200)} == {"A"}


@pytest.mark.django_db
def test_send_by_template_code_records_the_variant(api, ab_template):
    response = api.post("/api/v1/sms/send", {"phone": "+5511987654321", "template_code": "promo",
                                             "template_data": {"name": "Ana"}}, format="json")
    assert response.status_code == 202, response.content
    message = Message.objects.get(pk=response.data["id"])
    assert message.variant.template == ab_template
    assert response.data["variant_label"] == message.variant.label
    assert "Ana" in message.body


@pytest.mark.django_db
@pytest.mark.parametrize(("payload", "field"), [
    ({"template_code": "promo", "template_data": {}}, "template_data"),
    ({"template_code": "nope", "template_data": {"name": "x"}}, "template_code"),
    ({"template_code": "promo", "message": "both", "template_data": {"name": "x"}}, "message"),
    ({}, "message"),
])
def test_bad_template_sends_are_400(api, ab_template, payload, field):
    response = api.post("/api/v1/sms/send", {"phone": "+5511987654321", **payload}, format="json")
    assert response.status_code == 400
    assert field in response.data
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_another_tenants_template_cannot_be_used(other_tenant, ab_template):
    response = client_for(other_tenant).post("/api/v1/sms/send", {
        "phone": "+14155550123", "template_code": "promo", "template_data": {"name": "x"}}, format="json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_the_api_creates_and_lists_templates(api, other_tenant):
    response = api.post(TEMPLATES, {"code": "welcome", "name": "Welcome", "variants": [
        {"label": "A", "body": "Welcome {name}!", "weight": 1},
        {"label": "B", "body": "Olá {name}, bem-vindo!", "weight": 1},
    ]}, format="json")
    assert response.status_code == 201, response.content
    listed = api.get(TEMPLATES).data
    journeys = sorted(SYSTEM_TEMPLATES)  # every tenant has its copy of the journeys' texts
    assert [t["code"] for t in listed] == [*journeys, "welcome"]
    a, b = listed[-1]["variants"]
    assert (a["variables"], a["encoding"], b["encoding"]) == (["name"], "gsm7", "ucs2")
    assert [t["code"] for t in client_for(other_tenant).get(TEMPLATES).data] == journeys


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [
    {"code": "x", "variants": []},
    {"code": "x", "variants": [{"body": "{name.__class__}"}]},
    {"code": "x", "variants": [{"label": "A", "body": "a"}, {"label": "A", "body": "b"}]},
    {"code": "bad code!", "variants": [{"body": "hi"}]},
    {"code": "x", "variants": [{"body": "hi", "weight": 0}]},
])
def test_invalid_templates_are_400(api, payload):
    assert api.post(TEMPLATES, payload, format="json").status_code == 400
    assert created().count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("variant", "error"), [
    ({"body": "hi", "weight": "5"}, {"weight": ["Must be an integer."]}),
    ({"body": "hi", "weight": True}, {"weight": ["Must be an integer."]}),
    ({"body": 5}, {"body": ["Must be a string."]}),
])
def test_variant_json_types_are_taken_as_sent(api, variant, error):
    response = api.post(TEMPLATES, {"code": "typed", "variants": [variant]}, format="json")
    assert response.status_code == 400
    assert response.json()["variants"] == {"0": error}
    assert created().count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("count", "status"), [(26, 201), (27, 400)])
def test_a_template_has_at_most_26_variants(api, count, status):
    labels = [chr(ord("A") + n) if n < 26 else f"V{n}" for n in range(count)]
    response = api.post(TEMPLATES, {"code": "many", "variants": [{"label": label, "body": f"text {label}"}
                                                                 for label in labels]}, format="json")
    assert response.status_code == status, response.content
    assert created().count() == (1 if status == 201 else 0)
    if status == 400:
        assert "26" in str(response.data["variants"])


@pytest.mark.django_db
def test_a_duplicate_code_is_400(api):
    body = {"code": "x", "variants": [{"body": "hi"}]}
    assert api.post(TEMPLATES, body, format="json").status_code == 201
    assert api.post(TEMPLATES, body, format="json").status_code == 400


@pytest.mark.django_db
def test_the_admin_shows_segments_and_warns_about_ucs2(admin_client, ab_template):
    TemplateVariant.objects.create(template=ab_template, label="C", body="Olá\xa0{name}", weight=1)
    page = admin_client.get(reverse("admin:templates_messagetemplate_change", args=[ab_template.pk]))
    assert page.status_code == 200
    assert b"1 SMS part(s)" in page.content
    assert b"UCS-2 because of" in page.content and b"\\xa0" in page.content


@pytest.mark.django_db
def test_a_send_missing_a_variable_of_any_variant_is_refused_whichever_variant_the_number_draws(api, tenant):
    template = MessageTemplate.objects.create(tenant=tenant, code="promo")
    TemplateVariant.objects.create(template=template, label="A", body="Hi {name}: {URL}")
    TemplateVariant.objects.create(template=template, label="B", body="Hi {name}, see you")
    phones = {pick_variant(template, f"+55119{n:08d}").label: f"+55119{n:08d}" for n in range(20)}
    for label in ("A", "B"):
        response = api.post("/api/v1/sms/send", {"phone": phones[label], "template_code": "promo",
                                                 "template_data": {"name": "Ana"}}, format="json")
        assert response.status_code == 400, (label, response.content)
        assert response.json()["template_data"] == ["Missing variable(s): URL"]
    assert Message.objects.count() == 0
    response = api.post("/api/v1/sms/send", {"phone": phones["B"], "template_code": "promo",
                                             "template_data": {"name": "Ana", "URL": "https://x.example"}},
                        format="json")
    assert response.status_code == 202 and Message.objects.get().body == "Hi Ana, see you"
