"""`balance [--tenant SLUG] [--provider NAME]`: each provider's account balance.

With --tenant, the tenant's own provider accounts and chain are used. One line
per provider; a provider whose balance cannot be read is one line on stderr
(with -v 2, the carrier's own error text too), and the exit status is then 1.
"""

import logging
import sys

from django.core.management.base import BaseCommand, CommandError

from smsgate.console.balances import provider_balances
from smsgate.models import Tenant


class Command(BaseCommand):
    help = "Print the account balance of each SMS provider (default: the tenant's provider chain)."
    # The start-up checks' warning about a provider without credentials would repeat the row's own line.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default=Tenant.DEFAULT_SLUG, help="tenant slug (default: %(default)s)")
        parser.add_argument("--provider", help="one provider name, e.g. smsc (default: the provider chain)")

    def handle(self, *args, tenant: str, provider: str | None, **options):
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant {tenant!r}.")
        failed = False
        for row in self._balances(found, provider, options["verbosity"]):
            error = row["error"]
            if error is None:
                self.stdout.write(f"{row['provider']}: {row['amount']} {row['currency']}".rstrip())
            elif error["code"] == "not_supported":
                self.stdout.write(f"{row['provider']}: not supported")
            else:
                self.stderr.write(f"{row['provider']}: error: {error['code']}: {error['message']}")
                failed = True
        if failed:
            sys.exit(1)

    @staticmethod
    def _balances(tenant: Tenant, provider: str | None, verbosity: int) -> list[dict]:
        """The rows; the carriers' own error texts, which the log has, are shown only with -v 2."""
        log = logging.getLogger("smsgate.console.balances")
        level = log.level
        if verbosity < 2:
            log.setLevel(logging.ERROR)
        try:
            return provider_balances(tenant, [provider] if provider else None)
        finally:
            log.setLevel(level)
