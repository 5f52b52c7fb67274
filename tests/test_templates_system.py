"""The journeys' texts (lead welcome, code, reminder; PIX recovery) are templates: seeded, editable, as before."""

import importlib
import logging

import psycopg
import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import Lead
from leads.services import lead_send_verification_code
from smsgate.models import Tenant
from templates.models import MessageTemplate, TemplateVariant
from templates.system import LEAD_CODE, LEAD_REMINDER, LEAD_WELCOME, RECOVERY_PIX, SYSTEM_TEMPLATES, render_system
from tests.test_migrations import migrate, scratch_database_url  # noqa: F401 (a fixture)
from webhooks.services import recovery_text

pytestmark = pytest.mark.django_db

# What the journeys sent before their texts were templates (str.format constants, webhooks/recovery_text.py).
BEFORE = [
    (LEAD_WELCOME, {"name": "Иван Petrov"}, "Hi Иван Petrov, thank you for your request! We will contact you shortly."),
    (LEAD_CODE, {"code": "004211"}, "Your verification code is 004211"),
    (LEAD_REMINDER, {"date": "2030-01-15", "time": "14:00"}, "Reminder: your appointment is on 2030-01-15 at 14:00."),
    (RECOVERY_PIX, {"name": "Maria Silva", "first_name": "Maria", "amount": "R$ 50,00",
                    "payment_link": "https://pay.example.com/p/1"},
     "Oi Maria! Seu PIX de R$ 50,00 ainda esta pendente. Finalize seu pagamento: https://pay.example.com/p/1"),
    (RECOVERY_PIX, {"name": "Ana", "first_name": "Ana", "amount": "R$ 0,01", "payment_link": ""},
     "Oi Ana! Seu PIX de R$ 0,01 ainda esta pendente. Finalize seu pagamento."),
]


def edit(tenant, code: str, body: str) -> None:
    TemplateVariant.objects.filter(template__tenant=tenant, template__code=code).update(body=body)


@pytest.mark.parametrize(("code", "data", "text"), BEFORE, ids=["welcome", "code", "reminder", "recovery", "no link"])
def test_the_seeded_texts_send_byte_for_byte_what_was_sent_before(tenant, code, data, text):
    assert MessageTemplate.objects.get(tenant=tenant, code=code).variants.get().body == SYSTEM_TEMPLATES[code].body
    assert render_system(tenant, code, data, "+5511987654321").body == text
    MessageTemplate.objects.filter(tenant=tenant, code=code).delete()  # and the built-in text, without a copy
    assert render_system(tenant, code, data, "+5511987654321").body == text


def test_the_migration_seeds_the_built_in_words():
    seed = importlib.import_module("templates.migrations.0003_system_templates").SEED
    assert {code: body for code, (_, body) in seed.items()} == {c: t.body for c, t in SYSTEM_TEMPLATES.items()}


def test_a_new_tenant_gets_its_own_copy_of_every_journey_text():
    tenant = Tenant.objects.create(name="Loja", slug="loja")
    assert sorted(MessageTemplate.objects.filter(tenant=tenant).values_list("code", "name")) == [
        ("lead-code", "Lead: verification code"), ("lead-reminder", "Lead: appointment reminder"),
        ("lead-welcome", "Lead: welcome SMS"), ("recovery-pix", "PIX recovery SMS")]


def test_an_edited_text_is_sent_for_its_tenant_only(tenant, other_tenant):
    edit(tenant, LEAD_CODE, "{code} e o seu codigo")
    assert render_system(tenant, LEAD_CODE, {"code": "1234"}).body == "1234 e o seu codigo"
    assert render_system(other_tenant, LEAD_CODE, {"code": "1234"}).body == "Your verification code is 1234"


def test_variants_split_a_journeys_recipients_like_any_template(tenant):
    template = MessageTemplate.objects.get(tenant=tenant, code=LEAD_CODE)
    TemplateVariant.objects.create(template=template, label="B", body="Codigo: {code}")
    texts = {render_system(tenant, LEAD_CODE, {"code": "1234"}, f"+55119{n:08d}").body for n in range(50)}
    assert texts == {"Your verification code is 1234", "Codigo: 1234"}


def test_a_journeys_message_records_its_variant_and_the_template_page_counts_it(admin_client, tenant):
    lead = Lead.objects.create(tenant=tenant, name="Ana", phone="+5511987654321", consent_gdpr=True,
                               consent_at=timezone.now())
    message = lead_send_verification_code(phone=lead.phone, code="4821", lead=lead)
    template = MessageTemplate.objects.get(tenant=tenant, code=LEAD_CODE)
    assert message.body == "Your verification code is 4821" and message.variant == template.variants.get()
    page = admin_client.get(reverse("admin:templates_messagetemplate_change", args=[template.pk])).content.decode()
    assert "<tr><td>A</td><td>1</td>" in page
    template.delete()  # the built-in text has no variant to record
    assert lead_send_verification_code(phone=lead.phone, code="4822", lead=lead).variant is None


def test_a_text_the_journey_cannot_fill_sends_the_built_in_one_and_says_why(tenant, caplog):
    edit(tenant, RECOVERY_PIX, "Oi {first_name}, seu CPF {cpf}")
    with caplog.at_level(logging.ERROR, logger="templates.system"):
        text = recovery_text(tenant=tenant, name="Ana Souza", amount_cents=5000, payment_link="https://p.example/1")
    assert text == "Oi Ana! Seu PIX de R$ 50,00 ainda esta pendente. Finalize seu pagamento: https://p.example/1"
    assert "Missing variable(s): cpf" in caplog.text


def test_a_deactivated_text_sends_the_built_in_one(tenant):
    edit(tenant, LEAD_CODE, "Codigo: {code}")
    MessageTemplate.objects.filter(tenant=tenant, code=LEAD_CODE).update(is_active=False)
    assert render_system(tenant, LEAD_CODE, {"code": "1234"}).body == "Your verification code is 1234"


# --- the data migrations, on a scratch database --------------------------------------------------

def rows(url: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def add_tenant(url: str, slug: str) -> int:
    """A copy of the default tenant under another slug (whatever columns the table has at this migration)."""
    with psycopg.connect(url) as conn:
        columns = [c.name for c in conn.execute("SELECT * FROM smsgate_tenant LIMIT 0").description if c.name != "id"]
        listed = ", ".join(columns)
        copied = ", ".join("%s" if c in ("slug", "name") else c for c in columns)
        return conn.execute(f"INSERT INTO smsgate_tenant ({listed}) SELECT {copied} FROM smsgate_tenant "  # noqa: S608
                            "WHERE slug = 'default' RETURNING id", [slug if c == "slug" else slug.title()
                                                                    for c in columns if c in ("slug", "name")]
                            ).fetchone()[0]


def variants(url: str, tenant_id: int) -> list[tuple]:
    return rows(url, "SELECT t.code, v.label, v.body, v.weight FROM templates_templatevariant v JOIN "
                     "templates_messagetemplate t ON t.id = v.template_id WHERE t.tenant_id = %s "
                     "ORDER BY t.code, v.label", [tenant_id])


def test_operators_recovery_texts_move_into_their_templates_and_back(scratch_database_url):  # noqa: F811
    url = scratch_database_url
    migrate(url, "webhooks", "0004")
    migrate(url, "templates", "0002")
    custom, broken, plain = add_tenant(url, "custom"), add_tenant(url, "broken"), add_tenant(url, "plain")
    with psycopg.connect(url) as conn:
        for tenant_id, body, link in [(custom, "{name}, faltam {amount}: {payment_link}", "https://loja.example/c"),
                                      (broken, "{name.__class__} {amount}", "")]:
            conn.execute("INSERT INTO webhooks_recoverytemplate (tenant_id, body, fallback_link, updated_at) "
                         "VALUES (%s, %s, %s, now())", [tenant_id, body, link])
    migrate(url)

    default = SYSTEM_TEMPLATES[RECOVERY_PIX].body
    seeded = [(code, "A", SYSTEM_TEMPLATES[code].body, 1) for code in sorted(SYSTEM_TEMPLATES)]
    assert variants(url, plain) == seeded
    assert variants(url, custom) == [*seeded[:3], ("recovery-pix", "A", "{name}, faltam {amount}: {payment_link}", 1)]
    assert variants(url, broken) == [*seeded, ("recovery-pix", "unusable", "{name.__class__} {amount}", 0)]
    assert rows(url, "SELECT tenant_id, fallback_link FROM webhooks_recoverysettings ORDER BY tenant_id") == [
        (custom, "https://loja.example/c"), (broken, "")]

    migrate(url, "templates", "0002")  # and back: the bodies return, the untouched seeded copies go
    assert rows(url, "SELECT tenant_id, body FROM webhooks_recoverytemplate ORDER BY tenant_id") == [
        (custom, "{name}, faltam {amount}: {payment_link}"), (broken, default)]
    assert variants(url, plain) == []
    assert variants(url, custom) == [("recovery-pix", "A", "{name}, faltam {amount}: {payment_link}", 1)]
