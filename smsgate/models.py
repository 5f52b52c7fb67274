"""Core models: tenants and their API keys, messages and their events, opt-outs."""

import hashlib
import secrets

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from providers.registry import PROVIDERS, account_problem, provider_choices, provider_class, validate_provider_list
from smsgate.fields import EncryptedJSONField
from smsgate.quiet_hours import parse_window
from smsgate.statuses import Status, legacy_code


def validate_quiet_hours(value: str) -> None:
    parse_window(value)


class Routing(models.TextChoices):
    """How a tenant's provider chain is ordered for each message."""

    IN_ORDER = "in_order", "in order"
    CHEAPEST = "cheapest", "cheapest first"


class Tenant(models.Model):
    """A company using the gateway; every message and key belongs to one."""

    DEFAULT_SLUG = "default"

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    default_region = models.CharField(
        max_length=2, default="US", help_text="ISO country used for numbers written without +country code."
    )
    primary_provider = models.CharField(
        max_length=30, blank=True, choices=provider_choices, help_text="Empty: SMS_PRIMARY_PROVIDER."
    )
    fallback_providers = models.CharField(
        max_length=200, blank=True, validators=[validate_provider_list],
        help_text="Comma-separated, tried in order. Empty: SMS_FALLBACK_PROVIDERS.",
    )
    sender_number = models.CharField(
        max_length=20, blank=True, help_text="The enterprise's own number or sender name, used by every provider."
    )
    quiet_hours = models.CharField(
        max_length=11, blank=True, validators=[validate_quiet_hours],
        help_text="e.g. 21:00-08:00 in the recipient's time zone. Empty: SMS_QUIET_HOURS.",
    )
    smart_encoding = models.BooleanField(
        default=False, help_text="Replace look-alike characters (curly quotes, long dashes, Unicode spaces, …) "
        "with GSM-7 ones when that saves segments. A request's smart_encoding flag overrides it.",
    )
    slo_delivered_percent = models.PositiveSmallIntegerField(
        "SLO: delivered percent", default=95, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Delivery SLO: this share of the messages a carrier accepts is delivered within the seconds below.",
    )
    slo_delivered_seconds = models.PositiveIntegerField(
        "SLO: within seconds", default=60, validators=[MinValueValidator(1), MaxValueValidator(86400)],
        help_text="From the carrier's acceptance to the delivery receipt (1 to 86400).",
    )
    routing = models.CharField(
        max_length=12, choices=Routing.choices, default=Routing.IN_ORDER,
        help_text="In order: primary, then fallbacks. Cheapest first: the chain ordered by each message's "
        "destination price (Carrier prices); carriers without a price follow, in chain order.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_default(self) -> bool:
        """The default tenant owns the platform's own carrier accounts (the settings' credentials)."""
        return self.slug == self.DEFAULT_SLUG


class ProviderAccount(models.Model):
    """A tenant's own credentials for one provider, encrypted at rest.

    The keys are the provider backend's constructor arguments (e.g. for Twilio
    account_sid, auth_token, from_number) and override the settings' defaults.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="provider_accounts")
    provider = models.CharField(max_length=30, choices=provider_choices)
    credentials = EncryptedJSONField(default=dict)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Sends per minute for this tenant here. Empty: SMS_RATE_LIMIT_PER_MINUTE."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "provider"], name="unique_account_per_provider")]

    def __str__(self) -> str:
        return f"{self.tenant} / {self.provider}"

    def clean(self) -> None:
        """The credentials are the backend's: its required ones set, no key it does not take."""
        if self.provider in PROVIDERS and (problem := account_problem(provider_class(self.provider), self.credentials)):
            raise ValidationError(f"{self.provider}: {problem}")


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True, tenant__is_active=True)


class ApiKey(models.Model):
    """A tenant's API key. Only its SHA-256 is stored; the raw key is shown once.

    Keys are 32 random bytes, so a plain hash is enough (no slow KDF needed):
    nobody can guess a key from its hash.
    """

    PREFIX = "sg_"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    key_prefix = models.CharField(max_length=12, help_text="First characters of the key, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.key_prefix}… ({self.tenant})"

    @staticmethod
    def hash_key(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, tenant: Tenant, name: str = "") -> tuple["ApiKey", str]:
        """Create a key; returns the row and the raw key (never stored)."""
        raw_key = cls.PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            tenant=tenant, name=name, key_prefix=raw_key[:10], key_hash=cls.hash_key(raw_key)
        )
        return key, raw_key


class MessageType(models.TextChoices):
    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"
    OTP = "otp", "one-time code"


class Encoding(models.TextChoices):
    GSM7 = "gsm7", "GSM-7"
    UCS2 = "ucs2", "UCS-2"


MEDIA_URL_MAX_LENGTH = 2000  # a URL longer than this is refused at submit


class Message(models.Model):
    """One SMS to one recipient. Written before anything is sent.

    Every index is paid for by every insert (a 100k campaign writes 100k rows at
    once), so there are only the ones the queries need, most of them partial;
    Meta.indexes says which query each one serves.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="messages", db_index=False)
    to = models.CharField(max_length=20, help_text="E.164")
    body = models.TextField()
    encoding = models.CharField(max_length=4, choices=Encoding.choices)
    segments = models.PositiveSmallIntegerField()
    segments_saved = models.PositiveSmallIntegerField(
        default=0, help_text="Segments smart encoding saved (the body is the replaced text).",
    )
    # An MMS's attachments: absolute http(s) URLs the carrier fetches (ours are signed, smsgate.media).
    media_urls = ArrayField(models.CharField(max_length=MEDIA_URL_MAX_LENGTH), default=list, blank=True,
                            help_text="Media attachments (MMS): URLs the carrier fetches.")
    message_type = models.CharField(max_length=20, choices=MessageType.choices, default=MessageType.TRANSACTIONAL)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    status_reason = models.CharField(max_length=255, blank=True)

    send_at = models.DateTimeField(null=True, blank=True, help_text="When the caller asked it to go out.")
    due_at = models.DateTimeField(help_text="When the dispatcher should next try it.")
    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True)

    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    custom_id = models.CharField(max_length=100, blank=True, help_text="The caller's own reference.")
    variant = models.ForeignKey(
        "templates.TemplateVariant", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages",
        help_text="The template variant rendered into the body, if any.", db_index=False,
    )
    source_type = models.CharField(max_length=50, blank=True, help_text="What asked for it, e.g. lead, payment.")
    source_id = models.CharField(max_length=64, blank=True)
    request_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)

    provider = models.CharField(max_length=30, blank=True)
    # The tenant's own account it was sent through; null: the platform's (settings) credentials.
    # Only callbacks authenticated with the same credentials may touch it. No database constraint:
    # a deleted account keeps its id here, so its messages never become the platform's.
    provider_account = models.ForeignKey(
        ProviderAccount, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        related_name="+",
    )
    provider_message_id = models.CharField(max_length=100, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=5, null=True, blank=True)
    price_unit = models.CharField(max_length=3, blank=True)
    # From the price list (CarrierPrice), per segment times segments: at submit for the carrier it would go to
    # first, at send for the carrier that took it. `price` is what the carrier itself reports.
    estimated_price = models.DecimalField(max_digits=10, decimal_places=5, null=True, blank=True)
    estimated_price_unit = models.CharField(max_length=3, blank=True)
    error_code = models.CharField(max_length=30, blank=True)
    error_message = models.CharField(max_length=500, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="unique_idempotency_key_per_tenant",
            )
        ]
        indexes = [
            # The sweeper's due claims, the metrics' queue depth, the admin's scheduled/queued filter.
            models.Index(
                fields=["due_at"],
                condition=models.Q(status__in=["scheduled", "queued"]),
                name="message_pending_due",
            ),
            # In-flight and stale claims (claim budget, the sweeper's reclaim), the admin's sending filter.
            models.Index(fields=["claimed_at"], condition=models.Q(status="sending"), name="message_sending_claimed"),
            # Delivery-status polling of carriers that push no receipts.
            models.Index(fields=["provider", "sent_at"], condition=models.Q(status="sent"), name="message_sent"),
            # The admin's and the logs' failed filters, newest first.
            models.Index(fields=["created_at"], condition=models.Q(status__in=["failed", "undelivered"]),
                         name="message_failed_created"),
            # A tenant's logs and stats by date (and the tenant foreign key).
            models.Index(fields=["tenant", "created_at"], name="message_tenant_created"),
            # Campaigns, leads and recovery find their messages by source; a click its recipient's message.
            models.Index(fields=["source_type", "source_id", "custom_id"], name="message_source"),
            # Receipts find their message; messages not handed to a carrier yet have none.
            models.Index(fields=["provider_message_id"], condition=~models.Q(provider_message_id=""),
                         name="message_provider_id"),
            # Deleting a variant (SET_NULL); most messages have none.
            models.Index(fields=["variant"], condition=models.Q(variant__isnull=False), name="message_variant"),
            # The dashboard's periods: a scheduled message counts on the day it goes out (few have a send_at).
            models.Index(fields=["send_at"], condition=models.Q(send_at__isnull=False), name="message_send_at"),
            # Delivery latency and SLOs of the last hour: messages by when a carrier accepted them.
            models.Index(fields=["sent_at"], condition=models.Q(sent_at__isnull=False), name="message_sent_at"),
            # The console's MMS filter: the few messages with media, newest first.
            models.Index(fields=["created_at"], condition=~models.Q(media_urls=[]), name="message_mms_created"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} to {self.to} ({self.status})"

    @property
    def status_code(self) -> int:
        return legacy_code(self.status)


def media_file_name(instance: "MediaFile", filename: str) -> str:
    """A random name under the tenant's folder: the uploader's file name is never used."""
    return f"mms/{instance.tenant_id}/{secrets.token_hex(16)}"


class MediaFile(models.Model):
    """A file a tenant uploaded to attach to MMS, served to carriers on a signed URL (smsgate.media)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="media_files")
    file = models.FileField(upload_to=media_file_name, max_length=200)
    content_type = models.CharField(max_length=100, help_text="Sniffed from the file's first bytes, never trusted.")
    size = models.PositiveIntegerField(help_text="Bytes.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"media #{self.pk} ({self.content_type}, {self.size} bytes)"


class MessageEvent(models.Model):
    """Something that happened to a message: a send attempt, a receipt, a status change."""

    class Kind(models.TextChoices):
        ATTEMPT = "attempt"
        RECEIPT = "receipt"
        STATUS = "status"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    provider = models.CharField(max_length=30, blank=True)
    status = models.CharField(max_length=12, blank=True)
    ok = models.BooleanField(default=True)
    error_code = models.CharField(max_length=30, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The dashboard's carrier health: send attempts of the last hour.
            models.Index(fields=["created_at"], condition=models.Q(kind="attempt"), name="event_attempt_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.provider} {self.status}"


class OptOut(models.Model):
    """A number that asked a tenant to stop sending (STOP reply, API, operator)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="opt_outs")
    phone = models.CharField(max_length=20, help_text="E.164")
    source = models.CharField(max_length=30, default="admin", help_text="keyword, carrier, api, admin")
    keyword = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "phone"], name="unique_opt_out")]

    def __str__(self) -> str:
        return f"{self.phone} ({self.tenant})"


class HeldSource(models.Model):
    """A source whose messages wait: the sweeper claims none of them until it is released (e.g. a paused campaign).

    Its waiting messages are also given a due date no sweep reaches (smsgate.sending.submit.hold_pending); this
    row holds the ones that come back later, such as a message a worker had claimed that then failed and was
    queued again for a retry.
    """

    source_type = models.CharField(max_length=50)
    source_id = models.CharField(max_length=64)
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source_type", "source_id"], name="unique_held_source")]

    def __str__(self) -> str:
        return f"{self.source_type} {self.source_id}"


class MarketingConsent(models.Model):
    """A number that agreed to receive a tenant's marketing SMS, and where that consent was recorded.

    Marketing messages go only to numbers with a consent; an opt-out (STOP) still wins over it.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="marketing_consents")
    phone = models.CharField(max_length=20, help_text="E.164")
    source = models.CharField(max_length=100, help_text="Where the consent was given, e.g. lead form #12, CSV upload")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "phone"], name="unique_marketing_consent")]

    def __str__(self) -> str:
        return f"{self.phone} ({self.tenant})"



class ProviderCallback(models.Model):
    """A delivery receipt or inbound message exactly as the carrier sent it.

    Stored before it is applied, and unique per carrier event and account, so
    a carrier that retries a callback cannot apply it twice. A receipt that
    arrives before its message's send was recorded stays `matched=False`
    until then, and is applied only to a message of the same account. An
    authenticated callback that could not be used is kept with its `problem`.
    """

    class Kind(models.TextChoices):
        DELIVERY = "delivery"
        INBOUND = "inbound"

    provider = models.CharField(max_length=30)
    # The account whose credentials authenticated it (null: the platform's); see Message.provider_account.
    provider_account = models.ForeignKey(
        ProviderAccount, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        related_name="+",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    event_key = models.CharField(max_length=200)
    provider_message_id = models.CharField(max_length=100, blank=True, db_index=True)
    payload = models.JSONField(default=dict)
    matched = models.BooleanField(default=False)
    problem = models.CharField(max_length=500, blank=True, help_text="Why an authentic callback could not be used.")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "kind", "event_key"], name="unique_provider_callback")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} {self.event_key}"


class CarrierPrice(models.Model):
    """What one carrier charges per segment to numbers starting with `prefix` (least-cost routing, estimates).

    Rows without a tenant are the platform's price list; a tenant's row replaces the platform's for the same
    carrier and prefix (a tenant sending through its own account has its own contract). The longest prefix
    of a number that has a row wins (smsgate.pricing).
    """

    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="carrier_prices",
        help_text="Empty: the platform's price, for every tenant without its own.",
    )
    provider = models.CharField(max_length=30, choices=provider_choices)
    prefix = models.CharField(
        max_length=15, validators=[RegexValidator(r"^[1-9][0-9]{0,14}$", "Digits of an E.164 number, without +.")],
        help_text="The destination: a country's calling code (55) or a longer prefix (5511), digits without +.",
    )
    price = models.DecimalField(
        max_digits=10, decimal_places=5, validators=[MinValueValidator(0)], help_text="Per segment.",
    )
    currency = models.CharField(
        max_length=3, validators=[RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 code in capitals, e.g. USD.")],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "prefix"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "prefix"], condition=models.Q(tenant__isnull=True),
                                    name="unique_platform_price", violation_error_message=(
                                        "The platform already has a price for this carrier and destination.")),
            models.UniqueConstraint(fields=["tenant", "provider", "prefix"], condition=models.Q(tenant__isnull=False),
                                    name="unique_tenant_price", violation_error_message=(
                                        "This tenant already has a price for this carrier and destination.")),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="price_not_negative"),
        ]
        # Dispatch looks prices up by the prefixes of the numbers it sends to.
        indexes = [models.Index(fields=["prefix"], name="carrier_price_prefix")]

    def __str__(self) -> str:
        return f"{self.provider} +{self.prefix}: {self.price} {self.currency}"
