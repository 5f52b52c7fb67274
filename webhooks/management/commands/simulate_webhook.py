"""Post a TriboPay-shaped postback to our own endpoint, token and all, as TriboPay would.

The postback is then processed at once (as a worker would, two seconds later),
and the command says what came of it: for a PIX waiting for payment, when the
recovery SMS is due. `--delay N` brings that SMS forward to N seconds from now,
for a demo that does not wait RECOVERY_DELAY_SECONDS.
"""

import json
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from smsgate.models import Message
from smsgate.statuses import Status
from webhooks.models import WebhookEvent
from webhooks.services import process_event
from webhooks.tribopay import TOKEN_HEADER


class Command(BaseCommand):
    help = ("Simulate a TriboPay postback: simulate_webhook --phone +5511999999999 --status waiting_payment "
            "--amount 5000. Repeat with --payment-id ID --status paid to settle the same payment.")

    def add_arguments(self, parser):
        parser.add_argument("--phone", required=True, help="customer phone number")
        parser.add_argument("--status", default="waiting_payment",
                            help="waiting_payment, paid, refused, cancelled, ... (default waiting_payment)")
        parser.add_argument("--amount", type=int, default=5000, help="amount in cents (default 5000)")
        parser.add_argument("--method", default="pix", help="pix, credit_card, billet, ... (default pix)")
        parser.add_argument("--name", default="Cliente Simulado", help="customer name")
        parser.add_argument("--payment-id", default="", help="TriboPay payment id (default: a new one)")
        parser.add_argument("--delay", type=int, default=None,
                            help="send the recovery SMS this many seconds from now "
                                 "(default: RECOVERY_DELAY_SECONDS after the postback)")

    def handle(self, *args, phone, status, amount, method, name, payment_id, delay, **options):
        secret = settings.TRIBOPAY_WEBHOOK_SECRET
        if not secret:
            raise CommandError("Set TRIBOPAY_WEBHOOK_SECRET (in .env: `make run` creates one with a development "
                               "value): the endpoint refuses postbacks without it.")
        if delay is not None and delay < 0:
            raise CommandError("--delay is in seconds and must not be negative.")
        now = timezone.now().isoformat()
        payload = {
            "id": payment_id or f"sim_{uuid.uuid4().hex[:12]}",
            "payment_method": method,
            "payment_status": status,
            "amount": amount,
            "created_at": now,
            "updated_at": now,
            "customer": {"phone_number": phone, "name": name, "email": "simulado@example.com"},
        }
        response = Client().post(reverse("webhooks-tribopay"), data=json.dumps(payload),
                                 content_type="application/json", headers={TOKEN_HEADER: secret})
        body = response.content.decode()
        if response.status_code != 200:
            raise CommandError(f"The endpoint answered {response.status_code}: {body}")
        self.stdout.write(f"Posted payment {payload['id']} ({method}, {status}, {amount} cents): {body}")
        event = WebhookEvent.objects.get(pk=json.loads(body)["event_id"])
        process_event(event.pk)  # a no-op if a worker was quicker
        event.refresh_from_db()
        self.stdout.write(f"Processed: {event.outcome} ({event.detail})")
        message = event.payment.recovery_message if event.payment else None
        if message is None or message.status != Status.SCHEDULED:
            return
        moved = ""
        if delay is not None:
            message, moved = _bring_forward(message, delay), f"brought forward by --delay {delay}: "
        in_seconds = max(0, round((message.send_at - timezone.now()).total_seconds()))
        self.stdout.write(f"{moved}Recovery SMS #{message.pk} is due at {message.send_at:%H:%M:%S} UTC "
                          f"(in {in_seconds} s) unless the payment moves on: "
                          f"simulate_webhook --payment-id {payload['id']} --phone {phone} --status paid")


def _bring_forward(message: Message, delay: int) -> Message:
    """Move a still-scheduled SMS to `delay` seconds from now (when to send it, and when the dispatcher looks)."""
    due = timezone.now() + timedelta(seconds=delay)
    Message.objects.filter(pk=message.pk, status=Status.SCHEDULED).update(send_at=due, due_at=due)
    message.refresh_from_db()
    return message
