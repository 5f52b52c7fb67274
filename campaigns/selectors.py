"""Campaign progress and per-variant results, computed with database aggregation."""

from dataclasses import dataclass, fields

from django.db.models import CharField, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce

from campaigns.models import Campaign, Click, Recipient
from smsgate.models import Message
from smsgate.statuses import Status

SENT = [Status.SENT, Status.DELIVERED, Status.UNDELIVERED]
FAILED = [Status.FAILED, Status.UNDELIVERED, Status.EXPIRED]


def campaign_messages(campaign: Campaign):
    return Message.objects.filter(source_type="campaign", source_id=str(campaign.pk))


def recipient_variant_id(recipient: Recipient) -> int | None:
    """The template variant of the message written for this recipient (its message's custom_id is its id)."""
    return (Message.objects.filter(source_type="campaign", source_id=str(recipient.campaign_id),
                                   custom_id=str(recipient.pk))
            .values_list("variant_id", flat=True).first())


@dataclass(frozen=True)
class Progress:
    """Where a campaign stands. Rates are whole percents: sent of recipients, delivered and clicked of sent,
    failed of the messages written."""

    recipients: int
    processed: int  # passed by the enqueuer: message written, or skipped
    skipped: int  # no message written (a missing variable, a refused number)
    messages: int
    sent: int  # taken by a carrier: sent, delivered or undelivered
    delivered: int
    failed: int  # failed, undelivered or expired
    cancelled: int  # opted out, or the campaign was cancelled
    clicked: int  # recipients who followed their link at least once
    awaiting_receipt: int  # sent, no delivery receipt yet

    @property
    def sent_rate(self) -> int:
        return percent(self.sent, self.recipients)

    @property
    def delivered_rate(self) -> int:
        return percent(self.delivered, self.sent)

    @property
    def failed_rate(self) -> int:
        return percent(self.failed, self.messages)

    @property
    def clicked_rate(self) -> int:
        return percent(self.clicked, self.sent)

    def bar(self) -> list[tuple[str, float]]:
        """(part, width in % of recipients) for the progress bar, in the order drawn; the rest is to send."""
        parts = [("delivered", self.delivered), ("sent", self.awaiting_receipt), ("failed", self.failed),
                 ("not sent", self.cancelled + self.skipped)]
        total = max(self.recipients, sum(n for _, n in parts), 1)
        return [(name, round(100 * n / total, 1)) for name, n in parts if n > 0]


def percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _count(queryset: QuerySet, group_by: str, **conditions) -> Coalesce:
    """A subquery counting the rows of `queryset` that match `conditions`, for one campaign."""
    counted = queryset.filter(**conditions).order_by().values(group_by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_progress(campaigns: QuerySet) -> QuerySet:
    """The campaigns with the counts of their Progress annotated: a fixed number of queries for a whole page."""
    messages = Message.objects.filter(source_type="campaign", source_id=Cast(OuterRef("pk"), CharField()))
    recipients = Recipient.objects.filter(campaign=OuterRef("pk"))
    clicks = (Click.objects.filter(recipient__campaign=OuterRef("pk")).order_by().values("recipient__campaign")
              .annotate(n=Count("recipient", distinct=True)).values("n"))
    return campaigns.annotate(
        n_recipients=_count(recipients, "campaign"),
        n_processed=_count(recipients, "campaign", pk__lte=OuterRef("enqueue_cursor")),
        n_skipped=_count(recipients.exclude(error=""), "campaign"),
        n_messages=_count(messages, "source_id"),
        n_sent=_count(messages, "source_id", status__in=SENT),
        n_delivered=_count(messages, "source_id", status=Status.DELIVERED),
        n_failed=_count(messages, "source_id", status__in=FAILED),
        n_awaiting_receipt=_count(messages, "source_id", status=Status.SENT),
        n_cancelled=_count(messages, "source_id", status=Status.CANCELLED),
        n_clicked=Coalesce(Subquery(clicks, output_field=IntegerField()), Value(0)),
    )


def progress_of(campaign: Campaign) -> Progress:
    """The Progress of a campaign from with_progress (annotated), or read now for one that is not."""
    if not hasattr(campaign, "n_recipients"):
        campaign = with_progress(Campaign.objects.filter(pk=campaign.pk)).get()
    return Progress(**{f.name: getattr(campaign, f"n_{f.name}") for f in fields(Progress)})


def variant_stats(campaign: Campaign) -> list[dict]:
    """Per variant label (None for a plain body) of the campaign's messages."""
    return variant_results(campaign_messages(campaign), Click.objects.filter(recipient__campaign=campaign))


def variant_results(messages: QuerySet, clicks: QuerySet) -> list[dict]:
    """Per variant label of `messages`: messages, sent, delivered, failed; and recipients who clicked in `clicks`.

    Labels identify variants within one template: pass the messages and clicks of one campaign or one template.
    """
    rows = {
        row["variant__label"]: row
        for row in messages.values("variant__label").annotate(
            messages=Count("pk"),
            sent=Count("pk", filter=Q(status__in=SENT)),
            delivered=Count("pk", filter=Q(status=Status.DELIVERED)),
            failed=Count("pk", filter=Q(status__in=FAILED)),
        ).order_by()
    }
    clicked = dict(clicks.values_list("variant__label").annotate(n=Count("recipient", distinct=True)).order_by())
    return [
        {**row, "label": label, "clicked": clicked.get(label, 0)}
        for label, row in sorted(rows.items(), key=lambda item: item[0] or "")
    ]
