"""Send a test SMS now, for a chosen tenant: a given text, a short test text, or the tenant's recovery text."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from smsgate.models import Tenant
from webhooks.ingest import default_tenant
from webhooks.services import recovery_text, send_test_sms

DEFAULT_TEXT = "Test SMS from smsgate: your set-up works."


class Command(BaseCommand):
    help = ("Send a test SMS now: test_sms --phone +5511999999999 [--message TEXT] [--tenant SLUG] "
            "[--media URL ...]. With --name, --amount or --link it sends the tenant's PIX recovery text rendered "
            "with them; with --media, an MMS.")

    def add_arguments(self, parser):
        parser.add_argument("--phone", required=True, help="recipient, e.g. +5511999999999")
        parser.add_argument("--message", default="", help=f"the text to send (default: {DEFAULT_TEXT!r})")
        parser.add_argument("--tenant", default=Tenant.DEFAULT_SLUG, help="tenant slug (default: default)")
        parser.add_argument("--media", action="append", default=[], metavar="URL",
                            help="send an MMS with this media URL (repeat for more, up to MMS_MAX_MEDIA)")
        parser.add_argument("--name", default=None, help="recovery text: customer name for {name} (Cliente Teste)")
        parser.add_argument("--amount", type=int, default=None,
                            help="recovery text: amount in cents for {amount} (5000)")
        parser.add_argument("--link", default=None,
                            help="recovery text: payment link for {payment_link} (default: the template's "
                                 "fallback link)")

    def handle(self, *args, phone: str, message: str, tenant: str, name, amount, link, media, **options):
        found = default_tenant() if tenant == Tenant.DEFAULT_SLUG else Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant {tenant!r}.")
        recovery = (name, amount, link) != (None, None, None)
        if message and recovery:
            raise CommandError("Give either --message or the recovery text's --name/--amount/--link, not both.")
        if amount is not None and amount < 0:
            raise CommandError("--amount is in cents and must not be negative.")
        if recovery:
            amount = 5000 if amount is None else amount
            message = recovery_text(tenant=found, name=name or "Cliente Teste", amount_cents=amount,
                                    payment_link=link or "", phone=phone)
        try:
            sent = send_test_sms(tenant=found, phone=phone, body=message or DEFAULT_TEXT, media_urls=media)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        sent.refresh_from_db()
        media_note = f" with {len(sent.media_urls)} media" if sent.media_urls else ""
        self.stdout.write(f"Message #{sent.pk} to {sent.to} for tenant {found.slug!r}{media_note} is {sent.status}: "
                          f"{sent.body}")
