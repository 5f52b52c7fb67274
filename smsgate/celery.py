"""The Celery application shared by web, worker and beat."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgate.settings")

app = Celery("smsgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_unusable_connections(sender=None, **kwargs) -> None:
    """Around a task, as around a web request: close database connections that broke or outlived CONN_MAX_AGE.

    Celery's own fix-up would close them after every task; CELERY_DB_REUSE_MAX makes it reuse them.
    """
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # an eager task runs inside its caller's transaction
    from django.db import close_old_connections

    close_old_connections()
