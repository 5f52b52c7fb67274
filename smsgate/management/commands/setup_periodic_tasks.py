"""Declare every beat schedule in code (django-celery-beat's DatabaseScheduler).

Run at each deploy (make run and the release step do). update_or_create
keeps the enabled flag operators set in the admin.
"""

from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

# name -> (task, every N seconds)
SCHEDULES = {
    "Dispatch due and stale SMS": ("smsgate.sweep_due_messages", 5),
    "Process lost TriboPay postbacks": ("webhooks.process_stale_events", 30),
}


class Command(BaseCommand):
    help = "Create or update the periodic tasks smsgate needs."

    def handle(self, *args, **options):
        for name, (task, seconds) in SCHEDULES.items():
            interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
            _, created = PeriodicTask.objects.update_or_create(
                name=name, defaults={"task": task, "interval": interval, "crontab": None}
            )
            self.stdout.write(f"{'created' if created else 'updated'}: {name} ({task}, every {seconds}s)")
