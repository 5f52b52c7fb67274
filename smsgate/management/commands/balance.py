"""`balance [--tenant SLUG] [--provider NAME]`: each provider's account balance.

With --tenant, the tenant's own provider accounts and chain are used.
"""

from django.core.management.base import BaseCommand, CommandError

from providers.registry import UnknownProvider
from smsgate.balances import provider_balances
from smsgate.models import Tenant


class Command(BaseCommand):
    help = "Print the account balance of each SMS provider (default: the tenant's provider chain)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default=Tenant.DEFAULT_SLUG, help="tenant slug (default: %(default)s)")
        parser.add_argument("--provider", help="one provider name, e.g. smsc (default: the provider chain)")

    def handle(self, *args, tenant: str, provider: str | None, **options):
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant {tenant!r}.")
        try:
            rows = provider_balances(found, [provider] if provider else None)
        except UnknownProvider as exc:
            raise CommandError(str(exc)) from None
        failed = []
        for row in rows:
            if row["amount"] is not None:
                self.stdout.write(f"{row['provider']}: {row['amount']} {row['currency']}".rstrip())
            elif row["error"] == "not supported":
                self.stdout.write(f"{row['provider']}: not supported")
            else:
                self.stderr.write(f"{row['provider']}: error: {row['error']}")
                failed.append(row["provider"])
        if failed:
            raise CommandError(f"Could not get the balance of: {', '.join(failed)}")
