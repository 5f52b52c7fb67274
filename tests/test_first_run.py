"""What a newcomer meets on the first run: the console backend's receipts and failures, simulated replies,
test_sms and simulate_webhook as documented, the recovery text without a link, .env, quiet housekeeping logs."""

import logging
import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS
from django.core.management import CommandError, call_command
from django.utils import timezone

from providers.memory import MemoryProvider
from smsgate.models import Message, OptOut, ProviderCallback
from smsgate.sending.submit import PolicyRefused
from smsgate.sending.tasks import sweep_due_messages_task
from templates.models import TemplateVariant
from tests.sending import submit_one
from tests.tribopay_support import PHONE, SECRET
from webhooks.ingest import default_tenant
from webhooks.models import RecoverySettings
from webhooks.services import recovery_text

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def console(settings):
    settings.SMS_PRIMARY_PROVIDER = "console"


def sent_through_console(tenant, to: str) -> Message:
    """Submit and dispatch (Celery is eager here: the simulated receipt is applied within the send)."""
    message = submit_one(tenant=tenant, to=to, body="Your order has shipped")
    message.refresh_from_db()
    return message


# --- the console backend plays the carrier --------------------------------------------------------

def test_the_console_backend_reports_a_delivery_through_the_receipt_tracking(tenant, console):
    message = sent_through_console(tenant, "+5511987654321")
    assert message.status == "delivered" and message.delivered_at is not None
    receipt = ProviderCallback.objects.get(provider="console", kind="delivery")
    assert receipt.provider_message_id == message.provider_message_id and receipt.matched
    assert list(message.events.filter(kind="receipt").values_list("status", flat=True)) == ["delivered"]


def test_numbers_ending_in_0000_are_undelivered_with_a_reason(tenant, console):
    message = sent_through_console(tenant, "+5511987650000")
    assert message.status == "undelivered"
    assert (message.error_code, message.error_message) == ("SIM-UNREACHABLE",
                                                           "Simulated: the handset could not be reached")


def test_numbers_ending_in_0001_are_refused_at_once_without_a_retry(tenant, console):
    message = sent_through_console(tenant, "+5511987650001")
    assert message.status == "failed" and message.error_code == "SIM-INVALID"
    assert message.events.filter(kind="attempt").count() == 1
    assert not ProviderCallback.objects.exists()


# --- simulate_inbound ---------------------------------------------------------------------------

def test_a_simulated_stop_opts_the_number_out_of_the_tenant_that_texted_it(tenant, console):
    sent_through_console(tenant, "+5511987654321")
    out = StringIO()
    call_command("simulate_inbound", "--from", "+5511987654321", "--text", "stop", stdout=out)
    assert OptOut.objects.filter(tenant=tenant, phone="+5511987654321", keyword="STOP").exists()
    assert "opted out of tenant 'acme'" in out.getvalue()
    with pytest.raises(PolicyRefused, match="opted out"):
        submit_one(tenant=tenant, to="+5511987654321", body="Another one")

    call_command("simulate_inbound", "--from", "+5511987654321", "--text", "START", stdout=out)
    assert not OptOut.objects.exists()


def test_simulate_inbound_refuses_a_sender_that_is_not_a_number():
    with pytest.raises(CommandError, match="--from"):
        call_command("simulate_inbound", "--from", "not-a-number", "--text", "STOP", stdout=StringIO())
    assert not ProviderCallback.objects.exists()


# --- test_sms -----------------------------------------------------------------------------------

def test_test_sms_sends_the_given_text_for_the_chosen_tenant(tenant):
    out = StringIO()
    call_command("test_sms", "--phone", "+5511987654321", "--message", "Hello from the console",
                 "--tenant", "acme", stdout=out)
    [sms] = MemoryProvider.outbox
    assert sms["body"] == "Hello from the console"
    assert Message.objects.get().tenant == tenant
    assert "for tenant 'acme' is sent: Hello from the console" in out.getvalue()


def test_test_sms_sends_a_short_test_text_by_default():
    call_command("test_sms", "--phone", "+5511987654321", stdout=StringIO())
    [sms] = MemoryProvider.outbox
    assert sms["body"] == "Test SMS from smsgate: your set-up works."
    assert Message.objects.get().tenant == default_tenant()


def test_test_sms_refuses_a_text_and_recovery_values_together():
    with pytest.raises(CommandError, match="either --message"):
        call_command("test_sms", "--phone", "+5511987654321", "--message", "hi", "--amount", "100",
                     stdout=StringIO())
    assert not Message.objects.exists()


# --- the recovery text without a link -----------------------------------------------------------

def test_a_recovery_text_without_any_link_ends_in_a_full_sentence():
    text = recovery_text(tenant=default_tenant(), name="Ana Souza", amount_cents=5000, payment_link="")
    assert text == "Oi Ana! Seu PIX de R$ 50,00 ainda esta pendente. Finalize seu pagamento."


def test_a_recovery_text_uses_the_fallback_link_when_the_postback_has_none():
    RecoverySettings.objects.create(tenant=default_tenant(), fallback_link="https://pay.example.com/x")
    text = recovery_text(tenant=default_tenant(), name="Ana", amount_cents=5000, payment_link="")
    assert text.endswith("Finalize seu pagamento: https://pay.example.com/x")


def test_a_custom_template_loses_only_the_lead_in_to_a_missing_link():
    TemplateVariant.objects.filter(template__tenant=default_tenant(), template__code="recovery-pix").update(
        body="Pague: {payment_link} hoje, {first_name}!")
    assert recovery_text(tenant=default_tenant(), name="Ana", amount_cents=1, payment_link="") == "Pague hoje, Ana!"


# --- simulate_webhook --delay -------------------------------------------------------------------

def test_simulate_webhook_delay_brings_the_recovery_sms_forward_and_says_when(settings):
    settings.TRIBOPAY_WEBHOOK_SECRET = SECRET
    settings.RECOVERY_DELAY_SECONDS = 600
    out = StringIO()
    call_command("simulate_webhook", "--phone", PHONE, "--status", "waiting_payment", "--delay", "5", stdout=out)
    message = Message.objects.get()
    assert message.status == "scheduled"
    assert timedelta(0) < message.send_at - timezone.now() <= timedelta(seconds=5)
    assert message.due_at == message.send_at
    assert f"Recovery SMS #{message.pk} is due at" in out.getvalue()
    assert "(in 5 s)" in out.getvalue() or "(in 4 s)" in out.getvalue()

    Message.objects.filter(pk=message.pk).update(due_at=timezone.now())  # as if the 5 s had passed
    sweep_due_messages_task()
    message.refresh_from_db()
    assert message.status == "sent"


def test_simulate_webhook_without_delay_reports_the_configured_delay(settings):
    settings.TRIBOPAY_WEBHOOK_SECRET = SECRET
    settings.RECOVERY_DELAY_SECONDS = 120
    out = StringIO()
    call_command("simulate_webhook", "--phone", PHONE, "--status", "waiting_payment", stdout=out)
    assert "(in 120 s)" in out.getvalue() or "(in 119 s)" in out.getvalue()


# --- manage.py reads .env -----------------------------------------------------------------------

def run_manage_py_with_dotenv(tmp_path, dotenv: str, **env) -> str:
    """Run the project's manage.py from a directory holding it and this .env; what it prints."""
    (tmp_path / "manage.py").write_bytes((REPO / "manage.py").read_bytes())
    (tmp_path / ".env").write_text(dotenv)
    environ = {k: v for k, v in os.environ.items() if k not in ("TRIBOPAY_WEBHOOK_SECRET", "PUBLIC_BASE_URL")}
    environ.update(PYTHONPATH=str(REPO), **env)
    code = "from django.conf import settings; print(settings.TRIBOPAY_WEBHOOK_SECRET, settings.PUBLIC_BASE_URL)"
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=tmp_path, env=environ,
                            capture_output=True, text=True, timeout=120, check=True)
    return result.stdout.strip().splitlines()[-1]


def test_manage_py_reads_dotenv_like_the_processes_of_make_run(tmp_path):
    dotenv = "# development\nTRIBOPAY_WEBHOOK_SECRET='from dotenv'\nPUBLIC_BASE_URL=http://localhost:8000\n"
    assert run_manage_py_with_dotenv(tmp_path, dotenv) == "from dotenv http://localhost:8000"


def test_the_environment_wins_over_dotenv(tmp_path):
    dotenv = "TRIBOPAY_WEBHOOK_SECRET=from-dotenv\n"
    assert run_manage_py_with_dotenv(tmp_path, dotenv, TRIBOPAY_WEBHOOK_SECRET="from-shell") == "from-shell"


def test_make_run_gives_development_what_the_first_steps_need():
    values = dict(line.split("=", 1) for line in (REPO / ".env.development").read_text().splitlines()
                  if line and not line.startswith("#"))
    assert values["PUBLIC_BASE_URL"] == "http://localhost:8000" and values["TRIBOPAY_WEBHOOK_SECRET"]


# --- housekeeping logs at DEBUG -----------------------------------------------------------------

def celery_lines(task: str) -> None:
    """Log what a worker and beat log about one run of `task`, through Celery's own loggers and formats."""
    context = {"name": task, "id": "1", "runtime": 0.01, "return_value": 0, "args": "()", "kwargs": "{}"}
    logging.getLogger("celery.worker.strategy").info(LOG_RECEIVED, context)
    logging.getLogger("celery.app.trace").info(LOG_SUCCESS, context)
    logging.getLogger("celery.beat").info("Scheduler: Sending due task %s (%s)", "Some schedule", task)


def test_housekeeping_runs_are_not_logged_at_info_but_real_work_is(caplog):
    caplog.set_level(logging.INFO)
    celery_lines("smsgate.sweep_due_messages")
    celery_lines("webhooks.dispatch_events")
    assert caplog.records == []
    celery_lines("smsgate.dispatch_message")
    assert [r.levelname for r in caplog.records] == ["INFO", "INFO", "INFO"]


def test_housekeeping_runs_show_at_debug(caplog):
    caplog.set_level(logging.DEBUG)
    celery_lines("smsgate.sweep_due_messages")
    assert [r.levelname for r in caplog.records] == ["DEBUG", "DEBUG", "DEBUG"]


def test_a_failing_housekeeping_task_is_still_an_error(caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("celery.app.trace").error("Task %(name)s[%(id)s] raised", {"name": "smsgate.sweep_due_messages",
                                                                                "id": "1"})
    assert [r.levelname for r in caplog.records] == ["ERROR"]
