"""Celery tasks of the lead journeys (names and arguments as in the original lead service).

Thin: load, call a service. Carrier failures and retries are the core
dispatcher's job (failover, backoff with jitter, bounded attempts), so these
tasks never retry a send themselves. The task id is the SMS's idempotency key:
a task redelivered by the broker returns the message it already submitted
instead of sending a second one.
"""

from celery import shared_task

from leads.models import Lead
from leads.selectors import leads_awaiting_welcome
from leads.services import (
    lead_process_new,
    lead_send_appointment_reminder,
    lead_send_sms,
    lead_send_verification_code,
)


@shared_task(bind=True)
def send_sms_task(self, phone: str, message: str, lead_id: int | None = None) -> int:
    return lead_send_sms(phone=phone, body=message, lead=_lead(lead_id), idempotency_key=_key(self)).pk


@shared_task(bind=True)
def send_verification_code_task(self, phone: str, code: str, lead_id: int | None = None) -> int:
    return lead_send_verification_code(phone=phone, code=code, lead=_lead(lead_id), idempotency_key=_key(self)).pk


@shared_task(bind=True)
def send_appointment_reminder_task(self, phone: str, appointment_time: str, lead_id: int | None = None) -> int:
    return lead_send_appointment_reminder(
        phone=phone, appointment_time=appointment_time, lead=_lead(lead_id), idempotency_key=_key(self)
    ).pk


@shared_task
def process_new_lead_task(lead_id: int) -> int | None:
    """Welcome a new SMS lead (once, however often it runs)."""
    message = lead_process_new(lead_id=lead_id)
    return message.pk if message else None


@shared_task(name="leads.welcome_lost_leads")
def welcome_lost_leads_task() -> int:
    """Welcome SMS leads still `new` a minute after creation (their task was lost). Runs every minute."""
    lead_ids = leads_awaiting_welcome(older_than_seconds=60, limit=500)
    for lead_id in lead_ids:
        lead_process_new(lead_id=lead_id)
    return len(lead_ids)


def _lead(lead_id: int | None):
    return Lead.objects.select_related("tenant").get(pk=lead_id) if lead_id is not None else None


def _key(task) -> str | None:
    return f"task-{task.request.id}" if task.request.id else None
