"""Celery tasks of payment recovery: thin wrappers around webhooks.services."""

from celery import shared_task

from webhooks.services import dispatch_events, process_events


@shared_task(name="webhooks.dispatch_events")
def dispatch_events_task() -> int:
    """Hand stored postbacks to the workers. Runs every 2 seconds from beat."""
    return dispatch_events()


@shared_task(name="webhooks.process_events")
def process_events_task(event_ids: list[int]) -> None:
    """Apply claimed TriboPay postbacks, in order."""
    process_events(event_ids)
