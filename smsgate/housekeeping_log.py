"""Celery's routine lines about beat's housekeeping tasks, at DEBUG instead of INFO.

Beat runs the sweeper every 5 s, the postback dispatcher every 2 s and more
(each app's `periodic_tasks`); for each run beat logs "Sending due task" and
the worker "received" and "succeeded": about 145 lines a minute that bury
the lines about SMS. Those INFO records become DEBUG records, shown only when
the log level is DEBUG (`LOG_LEVEL=DEBUG`, or celery's `--loglevel=debug`).
Warnings and errors about the same tasks are untouched, and so are the
tasks the housekeeping hands real work to (dispatch_message, deliver_claimed).
"""

import functools
import logging

# Where Celery logs them: the worker's "received" and "succeeded", beat's "Sending due task".
CELERY_LOGGERS = ("celery.worker.strategy", "celery.app.trace", "celery.beat")


@functools.cache
def housekeeping_tasks() -> frozenset[str]:
    """The task names beat runs on a schedule (every app's `periodic_tasks`)."""
    from smsgate.management.commands.setup_periodic_tasks import declared_schedules

    return frozenset(task for task, _ in declared_schedules().values())


def _task_name(record: logging.LogRecord) -> str:
    """The task a Celery record is about: its args are {"name": ...} (worker) or (entry name, task) (beat)."""
    if isinstance(record.args, dict):
        return str(record.args.get("name", ""))
    if isinstance(record.args, tuple) and len(record.args) == 2:
        return str(record.args[1])
    return ""


class HousekeepingAtDebug(logging.Filter):
    """On the loggers in CELERY_LOGGERS: demote INFO records about housekeeping tasks to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or _task_name(record) not in housekeeping_tasks():
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
