"""The recovery text moves to the template engine: each tenant's RecoveryTemplate.body becomes the first variant
of its `recovery-pix` template (templates 0003 seeded it), and what is left, the fallback link, is the tenant's
RecoverySettings.

A body the new engine could not render (saved behind the old editor's back; the old engine then sent its default)
is kept as a variant of weight 0, never sent, so nothing an operator wrote is lost. Back: each tenant's variant A
becomes its RecoveryTemplate.body again.
"""

import re
import string

from django.db import migrations, models

CODE = "recovery-pix"
UNUSABLE = "unusable"  # the label of a kept body that cannot be sent
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def renderable(body: str) -> bool:
    """The check of templates.rendering as it is now: plain {names} only."""
    try:
        parts = list(string.Formatter().parse(body))
    except ValueError:
        return False
    return all(name is None or (_NAME.match(name) and not spec and not conversion)
               for _, name, spec, conversion in parts)


def bodies_to_templates(apps, schema_editor):
    RecoveryTemplate = apps.get_model("webhooks", "RecoveryTemplate")
    MessageTemplate = apps.get_model("templates", "MessageTemplate")
    TemplateVariant = apps.get_model("templates", "TemplateVariant")
    for old in RecoveryTemplate.objects.all():
        template, _ = MessageTemplate.objects.get_or_create(tenant_id=old.tenant_id, code=CODE,
                                                            defaults={"name": "PIX recovery SMS"})
        if renderable(old.body):
            TemplateVariant.objects.update_or_create(template=template, label="A", defaults={"body": old.body})
        else:
            TemplateVariant.objects.update_or_create(template=template, label=UNUSABLE,
                                                     defaults={"body": old.body, "weight": 0})


def templates_to_bodies(apps, schema_editor):
    RecoveryTemplate = apps.get_model("webhooks", "RecoveryTemplate")
    TemplateVariant = apps.get_model("templates", "TemplateVariant")
    for old in RecoveryTemplate.objects.all():
        variant = TemplateVariant.objects.filter(template__tenant_id=old.tenant_id, template__code=CODE,
                                                 label="A").first()
        if variant is not None:
            old.body = variant.body
            old.save(update_fields=["body"])


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0004_event_outcome_failed"),
        ("templates", "0003_system_templates"),
    ]

    operations = [
        migrations.RunPython(bodies_to_templates, templates_to_bodies),
        migrations.RemoveField(model_name="recoverytemplate", name="body"),
        migrations.RenameModel(old_name="RecoveryTemplate", new_name="RecoverySettings"),
        migrations.AlterField(
            model_name="recoverysettings",
            name="tenant",
            field=models.OneToOneField(on_delete=models.deletion.CASCADE, related_name="recovery_settings",
                                       to="smsgate.tenant"),
        ),
        migrations.AlterModelOptions(name="recoverysettings", options={"verbose_name_plural": "recovery settings"}),
    ]
