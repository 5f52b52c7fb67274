"""Publishing a Celery task by its name: the seam that lets services enqueue work.

Tasks import services, never the reverse: a tasks module is a thin wrapper
around its services, so a service that imported its tasks would close a cycle.
Services publish by the task's name instead; the tasks modules are imported
when the apps are ready (see each app's `ready`), so the task is found and
runs as itself (eagerly where CELERY_TASK_ALWAYS_EAGER says so).
"""

import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def publish(name: str, *args) -> None:
    """Enqueue the task registered as `name` with `args`; raises if the broker is down."""
    task = current_app.tasks.get(name)
    if task is None:  # not imported in this process: the worker knows it by name
        current_app.send_task(name, args)
    else:
        task.delay(*args)


def publish_quietly(name: str, *args) -> bool:
    """Enqueue, but never fail the caller (its sweeper picks up what was not enqueued); False if not enqueued."""
    try:
        publish(name, *args)
    except Exception:  # broker down: the work is safe in the database
        logger.warning("could not enqueue %s%r; the sweeper will", name, args, exc_info=True)
        return False
    return True


def publish_on_commit(name: str, *args) -> None:
    """Enqueue quietly once the caller's transaction commits (at once outside one)."""
    transaction.on_commit(lambda: publish_quietly(name, *args))
