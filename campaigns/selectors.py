"""Campaign progress and per-variant results, computed with database aggregation."""

from django.db.models import Count, Q

from campaigns.models import Campaign, Click, Recipient
from smsgate.models import Message
from smsgate.statuses import Status

SENT = [Status.SENT, Status.DELIVERED, Status.UNDELIVERED]


def campaign_messages(campaign: Campaign):
    return Message.objects.filter(source_type="campaign", source_id=str(campaign.pk))


def recipient_variant_id(recipient: Recipient) -> int | None:
    """The template variant of the message written for this recipient (its message's custom_id is its id)."""
    return (Message.objects.filter(source_type="campaign", source_id=str(recipient.campaign_id),
                                   custom_id=str(recipient.pk))
            .values_list("variant_id", flat=True).first())


def campaign_progress(campaign: Campaign) -> dict:
    recipients = Recipient.objects.filter(campaign=campaign).aggregate(
        total=Count("pk"),
        processed=Count("pk", filter=Recipient.PROCESSED),
        skipped=Count("pk", filter=~Q(error="")),
    )
    by_status = dict(campaign_messages(campaign).values_list("status").annotate(n=Count("pk")).order_by())
    return {"recipients": recipients, "messages": by_status}


def variant_stats(campaign: Campaign) -> list[dict]:
    """Per variant label (None for a plain body): messages, sent, delivered, failed, clicked."""
    rows = {
        row["variant__label"]: row
        for row in campaign_messages(campaign).values("variant__label").annotate(
            messages=Count("pk"),
            sent=Count("pk", filter=Q(status__in=SENT)),
            delivered=Count("pk", filter=Q(status=Status.DELIVERED)),
            failed=Count("pk", filter=Q(status__in=[Status.FAILED, Status.UNDELIVERED])),
        ).order_by()
    }
    clicked = dict(
        Click.objects.filter(recipient__campaign=campaign)
        .values_list("variant__label").annotate(n=Count("recipient", distinct=True)).order_by()
    )
    return [
        {**row, "label": label, "clicked": clicked.get(label, 0)}
        for label, row in sorted(rows.items(), key=lambda item: item[0] or "")
    ]
