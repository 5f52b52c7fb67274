"""Known messages on known days, so dashboard and metrics tests can assert exact numbers."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from campaigns.models import Campaign, Click, Recipient
from smsgate.models import Message, MessageEvent
from smsgate.statuses import Status
from templates.models import MessageTemplate, TemplateVariant


def add_message(tenant, status, provider="twilio", days_ago=0, price=None, **fields) -> Message:
    now = timezone.now()
    fields = {"to": "+5511999990000", "body": "hi", "encoding": "gsm7", "segments": 1, **fields}
    message = Message.objects.create(tenant=tenant, status=status, provider=provider, price=price, due_at=now, **fields)
    created_at = now - timedelta(days=days_ago)
    accepted = status in (Status.SENT, Status.DELIVERED, Status.UNDELIVERED)
    Message.objects.filter(pk=message.pk).update(
        created_at=created_at, sent_at=created_at + timedelta(seconds=2) if accepted else None,
        delivered_at=created_at + timedelta(seconds=9) if status == Status.DELIVERED else None)
    message.refresh_from_db()
    return message


def seed(tenant, other_tenant):
    """Two days of traffic for tenant and one message for other_tenant; the numbers below are what tests assert.

    Yesterday: 3 delivered (twilio, 0.05 each), 1 failed (smsc).  Today: 1 delivered, 1 undelivered (smsc, 0.02),
    2 queued. Variant promo/B: 2 of those delivered, 1 recipient clicked.
    Success rate (accepted by the carrier): twilio 3/3, smsc 2/3. Delivery rate (delivered of delivered or
    failed): twilio 3/3, smsc 1/3; per day, yesterday 3/4 and today 1/2.
    """
    template = MessageTemplate.objects.create(tenant=tenant, code="promo")
    variant = TemplateVariant.objects.create(template=template, label="B", body="hi")
    for index in range(3):
        add_message(tenant, Status.DELIVERED, "twilio", days_ago=1, price=Decimal("0.05"),
                    variant=variant if index < 2 else None)
    failed = add_message(tenant, Status.FAILED, "smsc", days_ago=1)
    add_message(tenant, Status.DELIVERED, "smsc", price=Decimal("0.02"))
    add_message(tenant, Status.UNDELIVERED, "smsc", price=Decimal("0.02"))
    add_message(tenant, Status.QUEUED, "")
    add_message(tenant, Status.QUEUED, "")
    add_message(other_tenant, Status.DELIVERED, "aircall", price=Decimal("9.99"))
    MessageEvent.objects.create(message=failed, kind=MessageEvent.Kind.ATTEMPT, provider="smsc", ok=False)
    MessageEvent.objects.create(message=failed, kind=MessageEvent.Kind.ATTEMPT, provider="twilio", ok=True)
    campaign = Campaign.objects.create(tenant=tenant, name="Promo")
    Click.objects.create(recipient=Recipient.objects.create(campaign=campaign, phone="+5511999990000"), variant=variant)


def add_attempts(message, provider, count=1, ok=False, error_code="30003", error_message="Unreachable handset"):
    for _ in range(count):
        MessageEvent.objects.create(message=message, kind=MessageEvent.Kind.ATTEMPT, provider=provider, ok=ok,
                                    error_code="" if ok else error_code, error_message="" if ok else error_message)


def seed_failing_carrier(tenant):
    """Today: websms fails 16 of 16 attempts (4 messages, 4 tries each, still retrying); twilio delivers 3 of 3;
    spothit accepted 2 that no receipt ever confirmed. Returns {name: [messages]}."""
    retrying = [add_message(tenant, Status.QUEUED, "", attempts=4) for _ in range(4)]
    for message in retrying:
        add_attempts(message, "websms", count=4)
    delivered = [add_message(tenant, Status.DELIVERED, "twilio") for _ in range(3)]
    for message in delivered:
        add_attempts(message, "twilio", ok=True)
    unconfirmed = [add_message(tenant, Status.SENT, "spothit") for _ in range(2)]
    for message in unconfirmed:
        add_attempts(message, "spothit", ok=True)
    return {"websms": retrying, "twilio": delivered, "spothit": unconfirmed}


def seed_slow_carrier(tenant):
    """In the last hour: smsc accepted 25 messages and delivered 15 within 60 s, 10 after 200 s (a 60 % SLO)."""
    for index in range(25):
        message = add_message(tenant, Status.DELIVERED, "smsc")
        sent_at = timezone.now() - timedelta(minutes=20)
        delivered_at = sent_at + timedelta(seconds=5 if index < 15 else 200)
        Message.objects.filter(pk=message.pk).update(
            created_at=sent_at - timedelta(seconds=2), sent_at=sent_at, delivered_at=delivered_at)
