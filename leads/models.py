"""Leads: people who asked, through a web form, to be contacted; and the consent they gave."""

from django.db import models

from smsgate.models import Tenant


class Lead(models.Model):
    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        WHATSAPP = "whatsapp", "WhatsApp"
        EMAIL = "email", "Email"
        CALL = "call", "Phone call"

    class Status(models.TextChoices):
        NEW = "new"
        CONTACTED = "contacted", "contacted (welcome SMS accepted by the gateway)"
        FAILED = "failed", "failed (welcome SMS refused)"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="leads")
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=20, help_text="E.164")
    email = models.EmailField(blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SMS,
                               help_text="How the lead asked to be contacted.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW, db_index=True)
    status_reason = models.CharField(max_length=255, blank=True)

    consent_gdpr = models.BooleanField(help_text="Agreed to the processing of their data (required).")
    consent_marketing = models.BooleanField(default=False, help_text="Agreed to receive marketing messages.")
    consent_at = models.DateTimeField(help_text="When the consent was given.")
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    consent_user_agent = models.CharField(max_length=255, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    contacted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "phone"], name="lead_tenant_phone")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name} ({self.status})"
