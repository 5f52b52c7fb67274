"""Lead journey tasks: the one road, idempotent redelivery, validation, marketing consent, SMSC retries."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.models import Lead
from leads.services import lead_create, lead_send_sms
from leads.tasks import send_appointment_reminder_task, send_sms_task, send_verification_code_task
from providers.memory import MemoryProvider
from smsgate.models import Message, Tenant
from smsgate.sending.tasks import sweep_due_messages_task
from tests.fakes.smsc import smsc_error

pytestmark = pytest.mark.django_db
PHONE = "+79991234567"
WELCOME_LEAD = {"name": "Anna", "phone": PHONE, "channel": "sms", "consent": {"gdpr": True}}


def make_lead(tenant, *, marketing=False, phone=PHONE) -> Lead:
    return lead_create(tenant=tenant, name="Anna", phone=phone, channel="whatsapp", consent_gdpr=True,
                       consent_marketing=marketing)


def run(capture, task, *args, **kwargs) -> Message:
    with capture(execute=True):
        message_id = task.delay(*args, **kwargs).get()
    return Message.objects.get(pk=message_id)


def test_send_sms_task_without_a_lead_sends_as_the_default_tenant(django_capture_on_commit_callbacks):
    message = run(django_capture_on_commit_callbacks, send_sms_task, PHONE, "Hello")
    assert message.tenant.slug == Tenant.DEFAULT_SLUG
    assert (message.status, message.source_type) == ("sent", "")
    assert MemoryProvider.outbox[0]["body"] == "Hello"


def test_send_sms_task_for_a_lead_uses_its_tenant_and_records_the_source(tenant,
                                                                         django_capture_on_commit_callbacks):
    lead = make_lead(tenant)
    message = run(django_capture_on_commit_callbacks, send_sms_task, PHONE, "Hello", lead_id=lead.pk)
    assert (message.tenant, message.source_type, message.source_id) == (tenant, "lead", str(lead.pk))
    assert message.status == "sent"


def test_a_redelivered_task_does_not_send_twice(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = send_sms_task.apply(args=(PHONE, "Once"), task_id="broker-redelivered-me").get()
        again = send_sms_task.apply(args=(PHONE, "Once"), task_id="broker-redelivered-me").get()
    assert first == again
    assert Message.objects.count() == 1 and len(MemoryProvider.outbox) == 1


def test_a_verification_code_is_an_otp_message(django_capture_on_commit_callbacks):
    message = run(django_capture_on_commit_callbacks, send_verification_code_task, PHONE, "004211")
    assert message.body == "Your verification code is 004211"
    assert (message.message_type, message.status) == ("otp", "sent")


@pytest.mark.parametrize("code", ["123", "12345678901", "12a4", "", "12 34"])
def test_a_bad_code_is_refused_with_a_clear_error(code):
    with pytest.raises(ValidationError) as error:
        send_verification_code_task.delay(PHONE, code).get()
    assert error.value.message_dict == {"code": ["The code must be 4 to 10 digits."]}
    assert Message.objects.count() == 0


def test_an_appointment_reminder_shows_the_callers_local_time(django_capture_on_commit_callbacks):
    message = run(django_capture_on_commit_callbacks, send_appointment_reminder_task, PHONE,
                  "2030-01-15T14:00:00+03:00")
    assert message.body == "Reminder: your appointment is on 2030-01-15 at 14:00."
    assert (message.message_type, message.status) == ("transactional", "sent")


@pytest.mark.parametrize(("when", "error"), [
    ("15 января в 14:00", "Use an ISO 8601 date and time"),
    ("2030-02-30T10:00:00", "Use an ISO 8601 date and time"),
    ("2020-01-15T14:00:00+00:00", "The appointment is in the past."),
])
def test_a_bad_appointment_time_is_refused_with_a_clear_error(when, error):
    with pytest.raises(ValidationError) as raised:
        send_appointment_reminder_task.delay(PHONE, when).get()
    assert raised.value.message_dict["appointment_time"][0].startswith(error)
    assert Message.objects.count() == 0


def test_an_invalid_phone_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as raised:
        send_sms_task.delay("12", "Hello").get()
    assert "phone" in raised.value.message_dict


def test_marketing_to_a_lead_without_marketing_consent_is_cancelled_not_sent(tenant,
                                                                             django_capture_on_commit_callbacks):
    lead = make_lead(tenant, marketing=False)
    with django_capture_on_commit_callbacks(execute=True):
        message = lead_send_sms(phone=lead.phone, body="50% off this week!", lead=lead, message_type="marketing")
    message.refresh_from_db()
    assert (message.status, message.status_reason) == ("cancelled", "no marketing consent recorded for this number")
    assert message.attempts == 0 and MemoryProvider.outbox == []
    sweep_due_messages_task()
    assert MemoryProvider.outbox == []  # and the sweeper never picks it up


def test_marketing_to_a_lead_with_marketing_consent_is_sent(tenant, django_capture_on_commit_callbacks):
    lead = make_lead(tenant, marketing=True)
    with django_capture_on_commit_callbacks(execute=True):
        message = lead_send_sms(phone=lead.phone, body="50% off this week!", lead=lead, message_type="marketing")
    message.refresh_from_db()
    assert message.status == "sent" and len(MemoryProvider.outbox) == 1


def test_marketing_without_a_lead_needs_a_consenting_lead_with_that_number(django_capture_on_commit_callbacks):
    default = Tenant.objects.get(slug=Tenant.DEFAULT_SLUG)
    with django_capture_on_commit_callbacks(execute=True):
        refused = lead_send_sms(phone=PHONE, body="Sale!", message_type="marketing")
        make_lead(default, marketing=True)
        allowed = lead_send_sms(phone=PHONE, body="Sale!!", message_type="marketing")
    refused.refresh_from_db()
    allowed.refresh_from_db()
    assert (refused.status, allowed.status) == ("cancelled", "sent")


def test_transactional_messages_need_no_marketing_consent(tenant, django_capture_on_commit_callbacks):
    lead = make_lead(tenant, marketing=False)
    message = run(django_capture_on_commit_callbacks, send_verification_code_task, PHONE, "1234", lead_id=lead.pk)
    assert message.status == "sent"


def test_the_welcome_goes_out_through_smsc_in_its_wire_format(api, smsc, django_capture_on_commit_callbacks):
    payload = {"name": "Иван", "phone": "+7 999 123-45-67", "channel": "sms", "consent": {"gdpr": True}}
    with django_capture_on_commit_callbacks(execute=True):
        lead_id = api.post("/api/v1/leads", payload, format="json").data["lead"]["id"]
    [request] = smsc.requests
    assert request.path == "/sys/send.php"
    assert request.field("phones") == PHONE and request.field("charset") == "utf-8"
    assert request.field("mes") == "Hi Иван, thank you for your request! We will contact you shortly."
    lead = api.get(f"/api/v1/leads/{lead_id}").data
    assert lead["status"] == "contacted"
    assert lead["messages"][0]["status"] == "sent"


def test_a_welcome_smsc_keeps_failing_is_retried_with_backoff_then_failed(api, smsc, settings,
                                                                          django_capture_on_commit_callbacks):
    """The core retries transient carrier errors (no Celery autoretry on top), bounded by SMS_MAX_ATTEMPTS."""
    settings.SMS_MAX_ATTEMPTS = 4
    settings.SMS_RETRY_BASE_SECONDS = 30
    smsc.fail_next(*[smsc_error(3, 1)] * 4)  # "no money", four times over
    with django_capture_on_commit_callbacks(execute=True):
        lead_id = api.post("/api/v1/leads", WELCOME_LEAD, format="json").data["lead"]["id"]
    message = Message.objects.get(source_type="lead", source_id=str(lead_id))
    waits = []
    for attempt in range(1, 4):
        message.refresh_from_db()
        assert (message.status, message.attempts, message.error_code) == ("queued", attempt, "3")
        waits.append((message.due_at - timezone.now()).total_seconds())
        Message.objects.filter(pk=message.pk).update(due_at=timezone.now() - timedelta(seconds=1))
        sweep_due_messages_task()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 4)
    assert "4 times" in message.status_reason
    assert len(smsc.requests) == 4 and smsc.sent == []
    # Backoff: within [base/2, base] * 2^(attempt-1), so it grows.
    for attempt, wait in enumerate(waits, start=1):
        ceiling = 30 * 2 ** (attempt - 1)
        assert ceiling / 2 - 1 <= wait <= ceiling
    lead = api.get(f"/api/v1/leads/{lead_id}").data
    assert lead["status"] == "contacted"  # the gateway accepted it; the SMS's own status tells the outcome
    assert (lead["messages"][0]["status"], lead["messages"][0]["error_code"]) == ("failed", "3")
