"""Celery tasks of payment recovery: thin wrappers around webhooks.services."""

from celery import shared_task


@shared_task(name="webhooks.process_event")
def process_event_task(event_id: int) -> None:
    """Apply one stored TriboPay postback."""
    from webhooks.services import process_event_safely

    process_event_safely(event_id)


@shared_task(name="webhooks.process_stale_events")
def process_stale_events_task() -> int:
    """Apply postbacks whose task was lost. Runs every 30 seconds from beat."""
    from webhooks.services import process_stale_events

    return process_stale_events()
