"""Lead journeys: create a lead, welcome it, send codes and reminders. Every SMS takes the one road.

Journey SMS are submitted like any other (`smsgate.sending.submit.submit`), so the
one policy list applies: a lead's marketing consent is recorded as a MarketingConsent
when the lead is stored, and the core's consent check reads it.
"""

import logging
import re
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leads.models import Lead
from leads.selectors import SOURCE_TYPE
from smsgate.consents import record_marketing_consent
from smsgate.models import Message, MessageType, Tenant
from smsgate.phones import validated_phone
from smsgate.publish import publish_on_commit
from smsgate.sending.submit import SmsRequest, submit
from smsgate.statuses import Status
from templates.system import LEAD_CODE, LEAD_REMINDER, LEAD_WELCOME, render_system

logger = logging.getLogger(__name__)
# Published by name (smsgate.publish): leads.tasks wraps this module, so it is not imported here.
WELCOME_TASK = "leads.tasks.process_new_lead_task"
CODE_PATTERN = re.compile(r"^\d{4,10}$")

# What the caller should expect to happen next, by channel. Only SMS is automated.
NEXT_ACTIONS = {
    Lead.Channel.SMS: "send_sms",
    Lead.Channel.WHATSAPP: "send_whatsapp",
    Lead.Channel.EMAIL: "send_email",
    Lead.Channel.CALL: "call",
}


def lead_create(
    *,
    tenant: Tenant,
    name: str,
    phone: str,
    channel: str = Lead.Channel.SMS,
    email: str = "",
    consent_gdpr: bool,
    consent_marketing: bool = False,
    consent_ip: str | None = None,
    consent_user_agent: str = "",
) -> Lead:
    """Store a lead with its consent record; an SMS lead gets its welcome SMS after commit."""
    if not consent_gdpr:
        raise ValidationError({"consent": ["GDPR consent is required to store a lead."]}, code="required")
    if channel == Lead.Channel.EMAIL and not email:
        raise ValidationError({"email": ["An email address is required for the email channel."]}, code="required")
    with transaction.atomic():
        lead = Lead.objects.create(
            tenant=tenant,
            name=name.strip(),
            phone=validated_phone(phone, tenant.default_region),
            email=email,
            channel=channel,
            consent_gdpr=True,
            consent_marketing=consent_marketing,
            consent_at=timezone.now(),
            consent_ip=consent_ip or None,
            consent_user_agent=consent_user_agent[:255],
        )
        if consent_marketing:
            record_marketing_consent(tenant=tenant, phone=lead.phone, source=f"lead form, lead #{lead.pk}")
        if lead.channel == Lead.Channel.SMS:
            publish_on_commit(WELCOME_TASK, lead.pk)  # never fails the request: the lead sweeper catches up
    return lead


def lead_next_action(lead: Lead) -> str:
    return NEXT_ACTIONS[Lead.Channel(lead.channel)]


def lead_process_new(*, lead_id: int) -> Message | None:
    """Send the welcome SMS to a new SMS lead, exactly once, and move the lead on.

    `contacted` means the gateway accepted the welcome SMS (its delivery is the
    message's own status); `failed` means policy refused it (opt-out,
    safeguard). Safe to run twice: the lead row is locked and the SMS has an
    idempotency key.
    """
    with transaction.atomic():
        lead = Lead.objects.select_for_update().select_related("tenant").filter(pk=lead_id).first()
        if lead is None or lead.status != Lead.Status.NEW or lead.channel != Lead.Channel.SMS:
            return None
        text = render_system(lead.tenant, LEAD_WELCOME, {"name": lead.name}, lead.phone)
        message = lead_send_sms(
            phone=lead.phone, body=text.body, variant_id=text.variant_id, lead=lead,
            idempotency_key=f"lead-{lead.pk}-welcome",
        )
        if message.status == Status.CANCELLED:
            lead.status, lead.status_reason = Lead.Status.FAILED, message.status_reason
        else:
            lead.status, lead.contacted_at = Lead.Status.CONTACTED, timezone.now()
        lead.save(update_fields=["status", "status_reason", "contacted_at"])
    return message


def lead_send_sms(
    *,
    phone: str,
    body: str,
    variant_id: int | None = None,
    lead: Lead | None = None,
    message_type: str = MessageType.TRANSACTIONAL,
    idempotency_key: str | None = None,
) -> Message:
    """Submit one journey SMS (`variant_id`: the template variant `body` was rendered from, if any); without a
    lead it goes out as the default tenant.

    Journeys have no caller to answer, so a policy refusal (opt-out,
    safeguard, no marketing consent) is a `cancelled` message with its
    reason, never a silent drop.
    """
    tenant = lead.tenant if lead else Tenant.objects.get(slug=Tenant.DEFAULT_SLUG)
    return submit(tenant, [SmsRequest(to=phone, body=body, variant_id=variant_id)], message_type=message_type,
                  idempotency_key=idempotency_key, source_type=SOURCE_TYPE if lead else "",
                  source_id=lead.pk if lead else "", cancel_refused=True).one()


def lead_send_verification_code(*, phone: str, code: str | int, lead: Lead | None = None,
                                idempotency_key: str | None = None) -> Message:
    code = str(code).strip()
    if not CODE_PATTERN.match(code):
        raise ValidationError({"code": ["The code must be 4 to 10 digits."]}, code="invalid")
    text = render_system(journey_tenant(lead), LEAD_CODE, {"code": code}, phone)
    return lead_send_sms(phone=phone, body=text.body, variant_id=text.variant_id, lead=lead,
                         message_type=MessageType.OTP, idempotency_key=idempotency_key)


def lead_send_appointment_reminder(*, phone: str, appointment_time: str | datetime, lead: Lead | None = None,
                                   idempotency_key: str | None = None) -> Message:
    """Remind of an appointment, shown in the wall-clock time the caller gave (its own offset)."""
    when = parse_appointment_time(appointment_time)
    text = render_system(journey_tenant(lead), LEAD_REMINDER,
                         {"date": when.strftime("%Y-%m-%d"), "time": when.strftime("%H:%M")}, phone)
    return lead_send_sms(phone=phone, body=text.body, variant_id=text.variant_id, lead=lead,
                         idempotency_key=idempotency_key)


def journey_tenant(lead: Lead | None) -> Tenant:
    """The lead's tenant; a journey SMS without a lead goes out as the default tenant (and in its words)."""
    return lead.tenant if lead else Tenant.objects.get(slug=Tenant.DEFAULT_SLUG)


def parse_appointment_time(value: str | datetime) -> datetime:
    """An ISO 8601 date and time that is not in the past."""
    when = value if isinstance(value, datetime) else _parse_iso(value)
    aware = when if timezone.is_aware(when) else timezone.make_aware(when)
    if aware < timezone.now():
        raise ValidationError({"appointment_time": ["The appointment is in the past."]}, code="past")
    return when


def _parse_iso(value) -> datetime:
    try:
        parsed = parse_datetime(str(value).strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(
            {"appointment_time": ["Use an ISO 8601 date and time, e.g. 2026-11-23T14:30:00+03:00."]}, code="invalid"
        )
    return parsed
