from django.db import migrations, models


def drop_old_schedule(apps, schema_editor):
    """Beat's per-event sweeper is replaced by webhooks.dispatch_events (setup_periodic_tasks declares it)."""
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task="webhooks.process_stale_events").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("django_celery_beat", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookevent",
            name="claimed_at",
            field=models.DateTimeField(blank=True, help_text="When a worker last took it to process.", null=True),
        ),
        migrations.RunPython(drop_old_schedule, migrations.RunPython.noop),
    ]
