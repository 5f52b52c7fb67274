"""Create the default tenant: the one that uses the providers configured in settings."""

from django.conf import settings
from django.db import migrations


def create_default_tenant(apps, schema_editor):
    Tenant = apps.get_model("smsgate", "Tenant")
    Tenant.objects.get_or_create(
        slug="default", defaults={"name": "Default", "default_region": settings.SMS_DEFAULT_REGION}
    )


class Migration(migrations.Migration):
    dependencies = [("smsgate", "0001_initial")]

    operations = [migrations.RunPython(create_default_tenant, migrations.RunPython.noop)]
