"""Campaign progress and per-variant results, computed with database aggregation."""

from dataclasses import dataclass, fields

from django.db.models import Count, Q, QuerySet

from campaigns.models import Campaign, Click, Recipient
from smsgate.models import Message
from smsgate.statuses import Status

SENT = [Status.SENT, Status.DELIVERED, Status.UNDELIVERED]
FAILED = [Status.FAILED, Status.UNDELIVERED, Status.EXPIRED]


def campaign_messages(campaign: Campaign):
    return Message.objects.filter(source_type="campaign", source_id=str(campaign.pk))


def recipient_variant_id(recipient: Recipient) -> int | None:
    """The template variant of the message written for this recipient."""
    return Message.objects.filter(campaign_recipient__recipient=recipient).values_list("variant_id", flat=True).first()


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


def campaigns_progress(campaigns: list[Campaign]) -> dict[int, Progress]:
    """{campaign id: Progress} in three grouped queries, each reading the campaigns' rows once: one page of the
    list costs the same number of queries as one campaign."""
    ids = [campaign.pk for campaign in campaigns]
    counts = {pk: dict.fromkeys((f.name for f in fields(Progress)), 0) for pk in ids}
    recipients = Recipient.objects.filter(campaign__in=ids).values("campaign").annotate(
        recipients=Count("pk"),
        processed=Count("pk", filter=Recipient.PROCESSED),
        skipped=Count("pk", filter=~Q(error="")),
    ).order_by()
    for row in recipients:
        counts[row.pop("campaign")].update(row)
    messages = Message.objects.filter(source_type="campaign", source_id__in=[str(pk) for pk in ids])
    for row in messages.values("source_id").annotate(
        messages=Count("pk"),
        sent=Count("pk", filter=Q(status__in=SENT)),
        delivered=Count("pk", filter=Q(status=Status.DELIVERED)),
        failed=Count("pk", filter=Q(status__in=FAILED)),
        awaiting_receipt=Count("pk", filter=Q(status=Status.SENT)),
        cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
    ).order_by():
        counts[int(row.pop("source_id"))].update(row)
    clicked = (Click.objects.filter(recipient__campaign__in=ids).values_list("recipient__campaign")
               .annotate(n=Count("recipient", distinct=True)).order_by())
    for pk, n in clicked:
        counts[pk]["clicked"] = n
    return {pk: Progress(**values) for pk, values in counts.items()}


def progress_of(campaign: Campaign) -> Progress:
    return campaigns_progress([campaign])[campaign.pk]


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


def variant_clicks(tenant, since, until) -> dict[int, int]:
    """Per template variant, the recipients who clicked between `since` and `until` (of one tenant, or all)."""
    clicks = Click.objects.filter(variant__isnull=False, clicked_at__gte=since, clicked_at__lt=until)
    if tenant is not None:
        clicks = clicks.filter(recipient__campaign__tenant=tenant)
    return dict(clicks.values_list("variant").annotate(n=Count("recipient", distinct=True)).order_by())


def clicked_by_variant(variant_ids: list[int], since) -> dict[int, int]:
    """Per template variant, the recipients who followed their link, of messages written since `since` (or ever):
    the conversions of an A/B test whose goal is clicks (templates.ab)."""
    clicks = Click.objects.filter(variant__in=variant_ids)
    if since is not None:
        clicks = clicks.filter(recipient__sent__message__created_at__gte=since)
    return dict(clicks.values_list("variant").annotate(n=Count("recipient", distinct=True)).order_by())
