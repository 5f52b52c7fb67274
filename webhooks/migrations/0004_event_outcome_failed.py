"""Outcome `failed`: an event that cannot be processed ends with it instead of staying pending.

Events already left pending after their last attempt (MAX_ATTEMPTS, 5 at the
time) are given that outcome now.
"""

from django.db import migrations, models
from django.db.models import F


def fail_exhausted_events(apps, schema_editor):
    WebhookEvent = apps.get_model("webhooks", "WebhookEvent")
    WebhookEvent.objects.filter(processed_at__isnull=True, attempts__gte=5).update(
        outcome="failed", processed_at=F("claimed_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks", "0003_event_tenant_index_dropped"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhookevent",
            name="outcome",
            field=models.CharField(blank=True, choices=[("", "not processed yet"), ("recovery_scheduled", "recovery SMS scheduled"), ("recovery_cancelled", "recovery SMS cancelled"), ("recovered", "paid after the recovery SMS"), ("not_sent", "recovery not possible"), ("recorded", "recorded, no SMS"), ("failed", "could not be processed")], default="", max_length=20),
        ),
        migrations.RunPython(fail_exhausted_events, migrations.RunPython.noop),
    ]
