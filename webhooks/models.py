"""Payment events from TriboPay, the payments they describe, and each tenant's recovery settings."""

from django.db import models

from smsgate.models import Message, Tenant


class Payment(models.Model):
    """A TriboPay payment as its postbacks left it, and its recovery SMS if any."""

    WAITING = "waiting_payment"
    PAID = "paid"
    PIX = "pix"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="payments")
    tribopay_id = models.CharField(max_length=100, help_text="TriboPay's payment (transaction) id.")
    method = models.CharField(max_length=30, blank=True)
    status = models.CharField(max_length=30, blank=True, db_index=True)
    amount_cents = models.PositiveBigIntegerField(null=True, blank=True)
    customer_name = models.CharField(max_length=200, blank=True)
    customer_phone = models.CharField(max_length=40, blank=True, help_text="As TriboPay sent it.")
    customer_email = models.CharField(max_length=254, blank=True)
    payment_link = models.URLField(max_length=500, blank=True)

    waiting_since = models.DateTimeField(null=True, blank=True, help_text="First PIX waiting_payment postback.")
    recovery_message = models.OneToOneField(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="recovered_payment"
    )
    recovered_at = models.DateTimeField(null=True, blank=True, help_text="Paid after its recovery SMS was sent.")
    recovered_amount_cents = models.PositiveBigIntegerField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "tribopay_id"], name="unique_tribopay_payment_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.tribopay_id} ({self.status})"


class WebhookEvent(models.Model):
    """One TriboPay postback exactly as received, stored before it is processed.

    Unique per (payment, status): TriboPay retries a postback until it gets a
    2xx, and a retry must not schedule a second SMS.
    """

    class Outcome(models.TextChoices):
        PENDING = "", "not processed yet"
        SCHEDULED = "recovery_scheduled", "recovery SMS scheduled"
        CANCELLED = "recovery_cancelled", "recovery SMS cancelled"
        RECOVERED = "recovered", "paid after the recovery SMS"
        NOT_SENT = "not_sent", "recovery not possible"
        RECORDED = "recorded", "recorded, no SMS"
        FAILED = "failed", "could not be processed"

    # No index of its own: the unique constraint below starts with tenant and serves its lookups.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="webhook_events", db_index=False)
    tribopay_id = models.CharField(max_length=100)
    status = models.CharField(max_length=30)
    method = models.CharField(max_length=30, blank=True)
    payload = models.JSONField()
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    payment = models.ForeignKey(Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker last took it to process.")
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True, default=Outcome.PENDING)
    detail = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "tribopay_id", "status"], name="unique_tribopay_event")
        ]
        indexes = [
            models.Index(fields=["received_at"], condition=models.Q(processed_at__isnull=True),
                         name="webhook_event_unprocessed"),
        ]

    def __str__(self) -> str:
        return f"{self.tribopay_id} {self.status}"


class RecoverySettings(models.Model):
    """What a tenant's recovery journey needs besides its text (the `recovery-pix` message template)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="recovery_settings")
    fallback_link = models.URLField(
        max_length=500, blank=True, help_text="{payment_link} when the postback carries no link of its own."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "recovery settings"

    def __str__(self) -> str:
        return f"recovery settings of {self.tenant}"
