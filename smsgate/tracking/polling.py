"""Delivery status for carriers that push no receipts (CHT emome): ask them.

Every recent `sent` message of a polled provider is asked about in turn
(least recently touched first, so a large backlog rotates); each answer goes
through record_delivery like a pushed receipt, so it is stored once, deduped
and applied forward-only.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from providers.base import ProviderError
from providers.registry import get_provider
from smsgate.models import Message
from smsgate.statuses import Status
from smsgate.tracking.receipts import record_delivery

logger = logging.getLogger(__name__)


def poll_statuses(limit: int) -> int:
    """Poll up to `limit` messages per provider; returns how many answers were news."""
    since = timezone.now() - timedelta(seconds=settings.SMS_STATUS_POLL_MAX_AGE_SECONDS)
    news = 0
    for name in settings.SMS_STATUS_POLL_PROVIDERS:
        messages = list(
            Message.objects.filter(provider=name, status=Status.SENT, sent_at__gte=since)
            .exclude(provider_message_id="").select_related("tenant").order_by("updated_at")[:limit]
        )
        providers = {}  # one backend per tenant: each asks with the account that sent
        for message in messages:
            if message.tenant_id not in providers:
                providers[message.tenant_id] = get_provider(name, message.tenant)
            provider = providers[message.tenant_id]
            try:
                update = provider.fetch_status(message.provider_message_id)
            except ProviderError as exc:
                logger.warning("%s status poll for message %s failed: %s", name, message.pk, exc)
                if not exc.permanent:
                    break  # the carrier is struggling: don't hammer it with the rest this round
                update = None
            # Touched, so the next round starts with messages not asked about for longest.
            Message.objects.filter(pk=message.pk).update(updated_at=timezone.now())
            if update is not None and record_delivery(name, update, account_id=message.provider_account_id):
                news += 1
    return news
