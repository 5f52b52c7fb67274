"""Audiences (contacts with tags and groups, or an uploaded CSV) and scheduled bulk campaigns."""

import secrets

from django.contrib.postgres.fields import ArrayField
from django.db import models

from smsgate.models import MEDIA_URL_MAX_LENGTH, MessageType
from templates.models import BODY_MAX_LENGTH


class Tag(models.Model):
    tenant = models.ForeignKey("smsgate.Tenant", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="unique_tag_per_tenant")]

    def __str__(self) -> str:
        return self.name


class ContactGroup(models.Model):
    """A named list of contacts."""

    tenant = models.ForeignKey("smsgate.Tenant", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="unique_group_per_tenant")]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    tenant = models.ForeignKey("smsgate.Tenant", on_delete=models.CASCADE, related_name="+")
    phone = models.CharField(max_length=20, help_text="E.164")
    name = models.CharField(max_length=200, blank=True)
    variables = models.JSONField(default=dict, blank=True,
                                 help_text='Per-contact values, e.g. {"PRENOM_ENFANT": "Léo"}')
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    groups = models.ManyToManyField(ContactGroup, blank=True, related_name="contacts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["phone"]
        constraints = [models.UniqueConstraint(fields=["tenant", "phone"], name="unique_contact_per_tenant")]

    def __str__(self) -> str:
        return f"{self.name} {self.phone}".strip()


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        SCHEDULED = "scheduled"
        RUNNING = "running", "enqueueing"
        ENQUEUED = "enqueued"
        PAUSED = "paused"
        CANCELLED = "cancelled"

    tenant = models.ForeignKey("smsgate.Tenant", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    template = models.ForeignKey("templates.MessageTemplate", null=True, blank=True, on_delete=models.PROTECT,
                                 help_text="A template with A/B variants; or write the body below.")
    body = models.TextField(blank=True, max_length=BODY_MAX_LENGTH,
                            help_text="Used when no template is chosen. {name}, {URL}, any variable.")
    message_type = models.CharField(max_length=20, choices=MessageType.choices, default=MessageType.MARKETING)
    target_url = models.URLField(blank=True, help_text="Where {URL} leads; each recipient gets a tracked short link.")
    media_urls = ArrayField(
        models.CharField(max_length=MEDIA_URL_MAX_LENGTH), default=list, blank=True,
        help_text="MMS: pictures sent with every message, one URL per line (an upload's signed URL from Media "
                  "files, or an https URL the carrier can fetch). Empty: an SMS.",
    )
    tags = models.ManyToManyField(Tag, blank=True, help_text="Send to contacts with any of these tags.")
    groups = models.ManyToManyField(ContactGroup, blank=True, help_text="Send to contacts in any of these groups.")
    scheduled_at = models.DateTimeField(null=True, blank=True, help_text="Date and hour to start sending.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    status_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last progress while enqueueing.")
    enqueued_at = models.DateTimeField(null=True, blank=True)
    enqueue_cursor = models.BigIntegerField(
        default=0, editable=False,
        help_text="Id of the last recipient processed: enqueueing resumes with the recipients after it.",
    )

    # Until enqueueing starts a campaign may be edited, take recipients and be scheduled. After that (running,
    # enqueued, paused, cancelled) it is locked: what was sent is what the campaign says.
    NOT_STARTED = (Status.DRAFT, Status.SCHEDULED)
    # Enqueueing, or its messages waiting for the sweeper: pausing holds what is not sent yet.
    PAUSABLE = (Status.RUNNING, Status.ENQUEUED)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_locked(self) -> bool:
        return self.status not in self.NOT_STARTED


def new_link_code() -> str:
    """12 URL-safe characters (72 random bits): collisions are out of reach at any campaign size."""
    return secrets.token_urlsafe(9)


class Recipient(models.Model):
    """One number a campaign sends to, with its own variables and tracked link."""

    # Indexed by recipient_order, which starts with the campaign.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients", db_index=False)
    phone = models.CharField(max_length=20, help_text="E.164")
    variables = models.JSONField(default=dict, blank=True)
    link_code = models.CharField(max_length=16, unique=True, default=new_link_code, editable=False)
    error = models.CharField(max_length=255, blank=True, help_text="Why no message was written, if so.")

    # Recipients the enqueuer has passed: their message is written, or they were skipped with an error.
    PROCESSED = models.Q(pk__lte=models.F("campaign__enqueue_cursor"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "phone"], name="unique_recipient")]
        indexes = [models.Index(fields=["campaign", "id"], name="recipient_order")]

    def __str__(self) -> str:
        return self.phone

    @property
    def processed(self) -> bool:
        """In Recipient.PROCESSED: its message has been written (or it was skipped with an error)."""
        return self.pk <= self.campaign.enqueue_cursor


class Click(models.Model):
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="clicks")
    variant = models.ForeignKey("templates.TemplateVariant", null=True, blank=True, on_delete=models.SET_NULL,
                                help_text="The template variant of the message the link was in.")
    clicked_at = models.DateTimeField(auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.recipient} at {self.clicked_at:%Y-%m-%d %H:%M}"


class RecipientMessage(models.Model):
    """The message written for a recipient: how a campaign knows its messages one by one.

    Its own narrow table, filled with COPY as the messages are written: updating each
    recipient row instead rewrote every recipient and its four indexes (three times
    the enqueue time of a 100k campaign, docs/PERFORMANCE.md).
    """

    recipient = models.OneToOneField(Recipient, primary_key=True, on_delete=models.CASCADE, related_name="sent")
    message = models.OneToOneField("smsgate.Message", on_delete=models.CASCADE, related_name="campaign_recipient")

    def __str__(self) -> str:
        return f"{self.recipient} -> message #{self.message_id}"
