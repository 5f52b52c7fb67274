"""Sending helpers for tests: one SMS through the real submit road, the whole road, or a bare unsaved message."""

from providers.segments import count_segments
from smsgate.models import Message, Tenant
from smsgate.sending import dispatch
from smsgate.sending.submit import SmsRequest, submit

BODY = "Hello from smsgate"
_REQUEST_FIELDS = {"body", "template_code", "template_data", "custom_id", "media_urls"}


def submit_one(*, tenant: Tenant, to: str, **options) -> Message:
    """One SMS submitted as any caller does; SmsRequest fields and submit options may be mixed in `options`."""
    fields = {name: options.pop(name) for name in list(options) if name in _REQUEST_FIELDS}
    return submit(tenant, [SmsRequest(to=to, **fields)], **options).one()


def gateway_send(phone: str, body: str = BODY) -> Message:
    """One SMS through the real road: persist, claim, dispatch to the provider chain."""
    message = submit_one(tenant=Tenant.objects.get(slug="default"), to=phone, body=body)
    dispatch.deliver([message.pk], dispatch.claim_one(message.pk))
    message.refresh_from_db()
    return message


def unsaved(phone: str, body: str = BODY) -> Message:
    """A message as a backend sees it, without the database."""
    info = count_segments(body)
    return Message(to=phone, body=body, segments=info.segments, encoding=info.encoding)
