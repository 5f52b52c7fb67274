"""Post a TriboPay-shaped postback to our own endpoint, token and all, as TriboPay would."""

import json
import uuid

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

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

    def handle(self, *args, phone, status, amount, method, name, payment_id, **options):
        secret = settings.TRIBOPAY_WEBHOOK_SECRET
        if not secret:
            raise CommandError("Set TRIBOPAY_WEBHOOK_SECRET: the endpoint refuses postbacks without it.")
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
        if method == "pix" and status == "waiting_payment":
            self.stdout.write(f"A recovery SMS is due in {settings.RECOVERY_DELAY_SECONDS} s unless the payment "
                              f"moves on: simulate_webhook --payment-id {payload['id']} --phone {phone} --status paid")
