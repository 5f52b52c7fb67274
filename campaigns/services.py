"""Scheduling, enqueueing, pausing and cancelling campaigns.

Enqueueing writes the campaign's messages in chunks of recipients in id
order, each chunk in its own transaction with one COPY for its messages
(smsgate.sending.submit.submit), each recipient then linked to its message; the
core's sweeper dispatches them in chunks. Memory stays flat: one chunk of recipients is in memory at a time.
The same transaction moves the campaign's `enqueue_cursor` to the chunk's
last recipient, so a crash mid-way resumes right after the last committed
chunk: no recipient is written twice or forgotten. Each recipient's message
is recorded in RecipientMessage (no recipient row is rewritten, except to
record why one was skipped).
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.audience import add_contacts
from campaigns.models import Campaign, Recipient, RecipientMessage
from providers.registry import chain_for
from smsgate.media import sendable_media
from smsgate.phones import E164
from smsgate.publish import publish_on_commit
from smsgate.sending.submit import SmsRequest, cancel_pending, hold_pending, release_held, submit
from templates.rendering import CompiledTemplate, MissingVariables, TemplateError, compile_template
from templates.services import pick_variant

CHUNK = 5000
STALL_SECONDS = 300
SOURCE = "campaign"
ENQUEUE_TASK = "campaigns.enqueue_campaign"  # published by name: campaigns.tasks wraps this module


def campaign_schedule(campaign: Campaign, *, when: datetime | None = None) -> Campaign:
    """Schedule a draft campaign (now if `when` is empty). Checks its text before anything is sent."""
    if campaign.status not in Campaign.NOT_STARTED:
        raise ValidationError(f"A {campaign.get_status_display()} campaign cannot be scheduled.")
    _compiled_bodies(campaign)  # raises on a broken template
    if campaign.media_urls:
        check_media(campaign.tenant, campaign.media_urls, when=when or campaign.scheduled_at)
    if not campaign.recipients.exists() and not add_contacts(campaign):
        raise ValidationError("The campaign has no recipients: choose tags or groups with contacts, or upload a CSV.")
    campaign.scheduled_at = when or campaign.scheduled_at or timezone.now()
    campaign.status = Campaign.Status.SCHEDULED
    campaign.save(update_fields=["scheduled_at", "status"])
    return campaign


def campaign_cancel(campaign: Campaign, *, reason: str = "campaign cancelled") -> int:
    """Stop a campaign: nothing more is enqueued, and its messages not yet sent are cancelled."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        locked.status = Campaign.Status.CANCELLED
        locked.status_reason = reason[:255]
        locked.save(update_fields=["status", "status_reason"])
        return cancel_pending(source_type=SOURCE, source_id=str(campaign.pk), reason=reason)


def check_media(tenant, urls: list[str], *, when: datetime | None) -> None:
    """A ValidationError on `media_urls` unless the campaign's pictures can go out as MMS at `when` (None: now):
    well-formed URLs, our uploads of this tenant still signed then, and an MMS carrier in the tenant's chain."""
    now = timezone.now()
    sendable_media(tenant, urls, due_at=max(when or now, now), chain=chain_for(tenant))


def cancel_on_delete(sender, instance: Campaign, **kwargs) -> None:
    """pre_delete: a campaign being deleted sends nothing more (its messages stay, as history)."""
    cancel_pending(source_type=SOURCE, source_id=str(instance.pk), reason="campaign deleted")


def campaign_pause(campaign: Campaign, *, by: str) -> int:
    """Stop enqueueing and hold the messages not yet handed to a worker; returns how many were held.

    The campaign row is locked as each enqueued chunk locks it, so a chunk commits either before the hold
    (its messages are held) or after the pause (it is not written).
    """
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status not in Campaign.PAUSABLE:
            raise ValidationError(f"It cannot be paused: it is {locked.get_status_display().lower()}.")
        locked.status, locked.status_reason = Campaign.Status.PAUSED, f"paused by {by}"[:255]
        locked.save(update_fields=["status", "status_reason"])
        return hold_pending(source_type=SOURCE, source_id=str(campaign.pk), reason=f"campaign paused by {by}")


def campaign_resume(campaign: Campaign) -> int:
    """Release a paused campaign's held messages and go on enqueueing where it stopped; returns how many."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != Campaign.Status.PAUSED:
            raise ValidationError(f"It is not paused: it is {locked.get_status_display().lower()}.")
        if locked.media_urls:  # a signed URL may have expired while it was paused
            try:
                check_media(locked.tenant, locked.media_urls, when=None)
            except ValidationError as exc:
                raise ValidationError(f"Its media can no longer be sent ({'; '.join(exc.messages)}) Cancel it and "
                                      "send a new campaign with a fresh upload.") from None
        finished = locked.enqueued_at is not None
        locked.status = Campaign.Status.ENQUEUED if finished else Campaign.Status.RUNNING
        locked.status_reason, locked.heartbeat_at = "", timezone.now()
        locked.save(update_fields=["status", "status_reason", "heartbeat_at"])
        if not finished:  # also taken over by start_due_campaigns if this task is lost
            publish_on_commit(ENQUEUE_TASK, campaign.pk)
        return release_held(source_type=SOURCE, source_id=str(campaign.pk))


def start_due_campaigns() -> list[int]:
    """Claim campaigns to enqueue: scheduled ones whose time has come, and running ones that stalled.

    A running campaign stalls when its enqueueing worker died; taking it over is
    safe because chunks are serialised on the campaign row and resume where the
    last committed chunk ended.
    """
    now = timezone.now()
    stalled_before = now - timedelta(seconds=STALL_SECONDS)
    due = Q(status=Campaign.Status.SCHEDULED, scheduled_at__lte=now)
    stalled = Q(status=Campaign.Status.RUNNING, heartbeat_at__lt=stalled_before)
    claimed = []
    for campaign in Campaign.objects.filter(due | stalled).only("pk", "status", "heartbeat_at"):
        if Campaign.objects.filter(pk=campaign.pk, status=campaign.status, heartbeat_at=campaign.heartbeat_at).update(
            status=Campaign.Status.RUNNING, heartbeat_at=now, started_at=Coalesce("started_at", Value(now))
        ):
            claimed.append(campaign.pk)
    return claimed


def campaign_enqueue(campaign_id: int) -> int:
    """Write the messages of a running campaign, chunk by chunk. Returns how many were written."""
    campaign = Campaign.objects.select_related("tenant", "template").filter(pk=campaign_id).first()
    if campaign is None or campaign.status != Campaign.Status.RUNNING:
        return 0  # deleted, or not running (any more)
    add_contacts(campaign)
    bodies = _compiled_bodies(campaign)
    written = 0
    while True:
        with transaction.atomic():
            locked = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
            if locked is None or locked.status != Campaign.Status.RUNNING:
                return written  # paused, cancelled or deleted meanwhile
            chunk = list(Recipient.objects.filter(campaign_id=campaign_id, pk__gt=locked.enqueue_cursor)
                         .order_by("pk").values_list("pk", "phone", "variables", "link_code")[:CHUNK])
            if not chunk:
                locked.status = Campaign.Status.ENQUEUED
                locked.enqueued_at = timezone.now()
                locked.save(update_fields=["status", "enqueued_at"])
                return written
            written += _enqueue_chunk(campaign, bodies, chunk)
            locked.enqueue_cursor = chunk[-1][0]
            locked.heartbeat_at = timezone.now()
            locked.save(update_fields=["enqueue_cursor", "heartbeat_at"])


def _enqueue_chunk(campaign: Campaign, bodies: dict, chunk: list[tuple]) -> int:
    """Write the messages of one chunk of (pk, phone, variables, link_code); link each to its recipient.

    A recipient whose text cannot be rendered or whose number is refused as input gets no message, only its
    error; one refused by policy (opt-out, no marketing consent) gets a cancelled message with the reason.
    """
    requests, recipient_ids, errors = [], [], {}
    links = f"{settings.PUBLIC_BASE_URL}/r/" if campaign.target_url else None
    for pk, phone, variables, link_code in chunk:
        variant, compiled = _variant_for(campaign, bodies, phone)
        try:
            body = compiled.render(_variables(variables, links + link_code if links else None))
        except MissingVariables as exc:
            errors[pk] = str(exc)
            continue
        # Recipients are stored normalised (import_csv, add_contacts): E164 spares parsing them again.
        requests.append(SmsRequest(to=E164(phone), body=body, variant_id=variant.pk if variant else None,
                                   media_urls=campaign.media_urls))
        recipient_ids.append(pk)
    result = submit(campaign.tenant, requests, message_type=campaign.message_type, source_type=SOURCE,
                    source_id=campaign.pk, cancel_refused=True)
    for index, field_errors in result.errors.items():
        errors[recipient_ids[index]] = "; ".join(m for msgs in field_errors.values() for m in msgs)
    _link_messages([(pk, mid) for pk, mid in zip(recipient_ids, result.ids, strict=True) if mid is not None])
    by_error = defaultdict(list)  # recipients usually miss the same variable: one UPDATE per distinct reason
    for pk, error in errors.items():
        by_error[error[:255]].append(pk)
    for error, pks in by_error.items():
        Recipient.objects.filter(pk__in=pks).update(error=error)
    return result.written


def _link_messages(pairs: list[tuple[int, int]]) -> None:
    """Record each recipient's message: (recipient id, message id) pairs, streamed with one COPY."""
    table = connection.ops.quote_name(RecipientMessage._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {table} (recipient_id, message_id) FROM STDIN") as copy:
        for pair in pairs:
            copy.write_row(pair)


def campaign_bodies(*, template, body: str, target_url: str) -> dict:
    """{variant or None: compiled body} of a campaign's text; a ValidationError by field if it cannot be sent.

    The one check of a campaign's text, on save (the admin form) and again when it is scheduled or enqueued.
    """
    if target_url and not settings.PUBLIC_BASE_URL:
        raise ValidationError({"target_url": "Tracked links need PUBLIC_BASE_URL (this gateway's public address)."})
    field = "template" if template else "body"
    try:
        if template:
            variants = list(template.variants.all())
            if not variants:
                raise ValidationError({field: "The campaign's template has no variants."})
            bodies = {v: compile_template(v.body) for v in variants}
        elif body.strip():
            bodies = {None: compile_template(body)}
        else:
            raise ValidationError({field: "Write a body or choose a template."})
    except TemplateError as exc:
        raise ValidationError({field: str(exc)}) from None
    if not target_url and "URL" in text_variables(bodies):
        raise ValidationError({"target_url": "The text has {URL}: give the address its tracked link leads to."})
    return bodies


def text_variables(bodies: dict) -> set[str]:
    """Every variable of every variant: what a recipient's data must hold for any variant to render."""
    return {name for compiled in bodies.values() for name in compiled.variables}


def _compiled_bodies(campaign: Campaign) -> dict:
    return campaign_bodies(template=campaign.template, body=campaign.body, target_url=campaign.target_url)


def _variant_for(campaign: Campaign, bodies: dict, phone: str) -> tuple[object, CompiledTemplate]:
    if None in bodies:
        return None, bodies[None]
    variant = pick_variant(campaign.template, phone, variants=list(bodies))
    return variant, bodies[variant]


def _variables(variables: dict | None, link: str | None) -> dict:
    """The recipient's variables, with its tracked link as {URL} if the campaign has one."""
    variables = dict(variables or {})
    if link:
        variables["URL"] = link
    return variables
