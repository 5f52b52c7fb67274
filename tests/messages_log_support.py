"""A message log an operator meets, made through the real road against the fake Twilio's wire format."""

from datetime import timedelta

from smsgate.models import Message
from smsgate.sending.dispatch import claim_one, deliver
from smsgate.sending.submit import cancel_message
from tests.fakes.server import Reply
from tests.fakes.twilio import twilio_error
from tests.sending import submit_one
from tests.test_twilio import post_callback

UNAVAILABLE = Reply(503, twilio_error(20503, "Service Unavailable", 503).body)


def send_now(tenant, to: str, body: str = "Your code is 4821") -> Message:
    """Submit and dispatch one message at once (as the on-commit task would)."""
    return dispatched(submit_one(tenant=tenant, to=to, body=body))


def try_again(message: Message) -> Message:
    """Make a waiting message due and dispatch it once more (the sweeper's next pass)."""
    Message.objects.filter(pk=message.pk).update(due_at=message.created_at)
    return dispatched(message)


def dispatched(message: Message) -> Message:
    """`message` reloaded after one dispatch, if it was due and unclaimed."""
    if token := claim_one(message.pk):
        deliver([message.pk], token)
    message.refresh_from_db()
    return message


def seed_log(tenant, twilio, settings) -> dict[str, Message]:
    """One message per state: delivered, failed (invalid number, opted out, every try failed), retrying, scheduled,
    cancelled. SMS_MAX_ATTEMPTS is 3, so `exhausted` shows 3/3 tries."""
    settings.SMS_MAX_ATTEMPTS = 3
    log = {}
    twilio.fail_next(UNAVAILABLE)
    log["retrying"] = send_now(tenant, "+14155550125", "Reminder: your appointment is tomorrow at 10:00")
    log["delivered"] = send_now(tenant, "+14155550123", "Your order #1042 has shipped")
    post_callback(twilio, twilio.callback_params(log["delivered"].provider_message_id, "delivered"))
    log["delivered"].refresh_from_db()
    log["invalid"] = send_now(tenant, "+15005550001", "Welcome to Acme!")
    log["opted_out"] = send_now(tenant, "+15005550004", "Last day of our sale: 20% off everything")
    twilio.fail_next(UNAVAILABLE, UNAVAILABLE, UNAVAILABLE)
    exhausted = send_now(tenant, "+14155550126", "Your payment of R$ 120,00 is waiting")
    while exhausted.status == "queued":
        exhausted = try_again(exhausted)
    log["exhausted"] = exhausted
    log["sent"] = send_now(tenant, "+14155550127", "Your verification code is 552913")
    log["scheduled"] = submit_one(tenant=tenant, to="+14155550128", body="Happy birthday from Acme!",
                                send_at=log["sent"].created_at + timedelta(days=1))
    log["cancelled"] = submit_one(tenant=tenant, to="+14155550129", body="Flash sale tonight",
                                send_at=log["sent"].created_at + timedelta(days=1))
    cancel_message(log["cancelled"], "cancelled by ops")
    log["cancelled"].refresh_from_db()
    return log
