"""The Celery application shared by web, worker and beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgate.settings")

app = Celery("smsgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
