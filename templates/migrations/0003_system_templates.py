"""Seed every tenant's copy of the journeys' texts (templates.system), worded exactly as they were sent before.

The texts are written out here, not imported: this migration must seed these words even after the built-in
ones change. webhooks 0005 then puts each operator's own recovery text in its tenant's copy.
"""

from django.db import migrations

SEED = {
    "lead-welcome": ("Lead: welcome SMS", "Hi {name}, thank you for your request! We will contact you shortly."),
    "lead-code": ("Lead: verification code", "Your verification code is {code}"),
    "lead-reminder": ("Lead: appointment reminder", "Reminder: your appointment is on {date} at {time}."),
    "recovery-pix": ("PIX recovery SMS",
                     "Oi {first_name}! Seu PIX de {amount} ainda esta pendente. Finalize seu pagamento: {payment_link}"),
}


def seed(apps, schema_editor):
    Tenant = apps.get_model("smsgate", "Tenant")
    MessageTemplate = apps.get_model("templates", "MessageTemplate")
    TemplateVariant = apps.get_model("templates", "TemplateVariant")
    for tenant in Tenant.objects.all():
        for code, (name, body) in SEED.items():
            template, created = MessageTemplate.objects.get_or_create(tenant=tenant, code=code,
                                                                      defaults={"name": name})
            if created:
                TemplateVariant.objects.create(template=template, label="A", body=body)


def unseed(apps, schema_editor):
    """Back: drop the seeded copies an operator left as they were (an edited one is the operator's)."""
    MessageTemplate = apps.get_model("templates", "MessageTemplate")
    for code, (_, body) in SEED.items():
        for template in MessageTemplate.objects.filter(code=code).prefetch_related("variants"):
            if [(v.label, v.body, v.weight) for v in template.variants.all()] == [("A", body, 1)]:
                template.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("templates", "0002_variant_body_limit"),
        ("smsgate", "0002_default_tenant"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
