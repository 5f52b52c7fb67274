"""Read-only queries about leads."""

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from leads.models import Lead
from smsgate.models import Message

SOURCE_TYPE = "lead"  # Message.source_type of every SMS a lead journey sends


def lead_messages(lead: Lead) -> QuerySet[Message]:
    """The SMS sent for this lead (welcome, codes, reminders), oldest first."""
    return Message.objects.filter(tenant_id=lead.tenant_id, source_type=SOURCE_TYPE, source_id=str(lead.pk)).order_by(
        "created_at", "id"
    )


def leads_awaiting_welcome(*, older_than_seconds: int, limit: int) -> list[int]:
    """SMS leads still `new` some time after creation: their welcome task was lost."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    new_sms_leads = Lead.objects.filter(status=Lead.Status.NEW, channel=Lead.Channel.SMS, created_at__lt=cutoff)
    return list(new_sms_leads.order_by("created_at").values_list("pk", flat=True)[:limit])
