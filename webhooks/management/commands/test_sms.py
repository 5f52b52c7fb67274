"""Send a recovery SMS now, rendered from the tenant's template, to check the provider set-up."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from smsgate.models import Tenant
from webhooks.ingest import default_tenant
from webhooks.services import recovery_text, send_test_sms


class Command(BaseCommand):
    help = "Send a test recovery SMS: test_sms --phone +5511999999999 --name 'Joao' --amount 5000"

    def add_arguments(self, parser):
        parser.add_argument("--phone", required=True, help="recipient, e.g. +5511999999999")
        parser.add_argument("--name", default="Cliente Teste", help="customer name for {name}")
        parser.add_argument("--amount", type=int, default=5000, help="amount in cents for {amount}")
        parser.add_argument("--link", default="",
                            help="payment link for {payment_link} (default: the template's fallback link)")
        parser.add_argument("--tenant", default=Tenant.DEFAULT_SLUG, help="tenant slug (default: default)")

    def handle(self, *args, phone: str, name: str, amount: int, link: str, tenant: str, **options):
        found = default_tenant() if tenant == Tenant.DEFAULT_SLUG else Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant {tenant!r}.")
        if amount < 0:
            raise CommandError("--amount is in cents and must not be negative.")
        body = recovery_text(tenant=found, name=name, amount_cents=amount, payment_link=link)
        try:
            message = send_test_sms(tenant=found, phone=phone, body=body)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        message.refresh_from_db()
        self.stdout.write(f"Message #{message.pk} to {message.to} is {message.status}: {message.body}")
