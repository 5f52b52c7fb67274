"""Declare every beat schedule in code (django-celery-beat's DatabaseScheduler).

Each app lists its schedules as `periodic_tasks = {name: (task, every N seconds)}`
on its AppConfig. Run at each deploy (make run and the release step do);
update_or_create keeps the enabled flag operators set in the admin.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask


def declared_schedules() -> dict[str, tuple[str, int]]:
    schedules = {}
    for config in apps.get_app_configs():
        schedules.update(getattr(config, "periodic_tasks", {}))
    return schedules


class Command(BaseCommand):
    help = "Create or update the periodic tasks smsgate needs."

    def handle(self, *args, **options):
        for name, (task, seconds) in declared_schedules().items():
            interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
            _, created = PeriodicTask.objects.update_or_create(
                name=name, defaults={"task": task, "interval": interval, "crontab": None}
            )
            self.stdout.write(f"{'created' if created else 'updated'}: {name} ({task}, every {seconds}s)")
