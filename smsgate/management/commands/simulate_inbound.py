"""Simulate a reply to the console backend (STOP, START or any text), recorded as a carrier's reply would be."""

import uuid

from django.core.management.base import BaseCommand, CommandError

from providers.base import InboundMessage, UnusableCallback
from smsgate.models import OptOut
from smsgate.phones import InvalidPhoneNumber, normalize_phone
from smsgate.tracking.receipts import OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, check_storable, record_inbound


class Command(BaseCommand):
    help = ("Simulate an inbound SMS through the console backend: simulate_inbound --from +5511987654321 "
            "--text STOP. Like a carrier's reply, it lands on the tenant that last texted the number "
            "(else the default tenant); STOP and the other opt-out words add an opt-out, START removes it.")

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="sender", required=True, help="who replies, in E.164 (+5511987654321)")
        parser.add_argument("--text", required=True, help="the reply, e.g. STOP")

    def handle(self, *args, sender: str, text: str, **options):
        try:
            sender = normalize_phone(sender, "")
        except InvalidPhoneNumber as exc:
            raise CommandError(f"--from: {exc}") from None
        inbound = InboundMessage(sender=sender, recipient="", body=text,
                                 provider_message_id=f"console-in-{uuid.uuid4().hex}")
        try:
            check_storable(inbound)
        except UnusableCallback as exc:
            raise CommandError(str(exc)) from None
        record_inbound("console", inbound)
        keyword = text.strip().upper()
        opt_out = OptOut.objects.filter(phone=sender).select_related("tenant").order_by("-created_at").first()
        if keyword in OPT_OUT_KEYWORDS and opt_out:
            self.stdout.write(f"{keyword} from {sender}: opted out of tenant {opt_out.tenant.slug!r}; "
                              "sends to this number are now refused.")
        elif keyword in OPT_IN_KEYWORDS:
            self.stdout.write(f"{keyword} from {sender}: opt-out removed.")
        else:
            self.stdout.write(f"Reply from {sender} recorded: {text}")
