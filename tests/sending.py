"""Sending helpers for provider tests: the real road, or a bare unsaved message for a backend."""

from providers.segments import count_segments
from smsgate.models import Message, Tenant
from smsgate.sending import dispatch
from smsgate.sending.submit import send_sms

BODY = "Hello from smsgate"


def gateway_send(phone: str, body: str = BODY) -> Message:
    """One SMS through the real road: persist, claim, dispatch to the provider chain."""
    message = send_sms(tenant=Tenant.objects.get(slug="default"), to=phone, body=body)
    dispatch.deliver([message.pk], dispatch.claim_one(message.pk))
    message.refresh_from_db()
    return message


def unsaved(phone: str, body: str = BODY) -> Message:
    """A message as a backend sees it, without the database."""
    info = count_segments(body)
    return Message(to=phone, body=body, segments=info.segments, encoding=info.encoding)
