"""Campaign tasks: thin wrappers around campaigns.services."""

from celery import shared_task


@shared_task(name="campaigns.start_due_campaigns")
def start_due_campaigns_task() -> int:
    """Every 15 s: claim campaigns whose time has come and enqueue each in its own task."""
    from campaigns.services import start_due_campaigns

    started = start_due_campaigns()
    for campaign_id in started:
        enqueue_campaign_task.delay(campaign_id)
    return len(started)


@shared_task(name="campaigns.enqueue_campaign")
def enqueue_campaign_task(campaign_id: int) -> int:
    from campaigns.services import campaign_enqueue

    return campaign_enqueue(campaign_id)
