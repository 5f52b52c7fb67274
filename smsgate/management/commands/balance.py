"""`balance [--tenant SLUG] [--provider NAME]`: each provider's account balance.

Credentials are the default ones from settings for now; per-tenant provider
accounts plug in where the provider is built (`_provider_for`).
"""

from django.core.management.base import BaseCommand, CommandError

from providers.base import ProviderError
from providers.registry import UnknownProvider, default_chain, get_provider
from smsgate.models import Tenant


class Command(BaseCommand):
    help = "Print the account balance of each SMS provider (default: the configured provider chain)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default=Tenant.DEFAULT_SLUG, help="tenant slug (default: %(default)s)")
        parser.add_argument("--provider", help="one provider name, e.g. smsc (default: the provider chain)")

    def handle(self, *args, tenant: str, provider: str | None, **options):
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant {tenant!r}.")
        failed = [name for name in ([provider] if provider else default_chain()) if not self._show(found, name)]
        if failed:
            raise CommandError(f"Could not get the balance of: {', '.join(failed)}")

    def _show(self, tenant: Tenant, name: str) -> bool:
        """Print one provider's balance; False if the provider failed."""
        try:
            balance = _provider_for(tenant, name).balance()
        except UnknownProvider as exc:
            raise CommandError(str(exc)) from None
        except ProviderError as exc:
            self.stderr.write(f"{name}: error: {exc}")
            return False
        if balance is None:
            self.stdout.write(f"{name}: not supported")
        else:
            self.stdout.write(f"{name}: {balance.amount} {balance.currency}".rstrip())
        return True


def _provider_for(tenant: Tenant, name: str):
    """The provider backend the tenant sends through (today: the settings' credentials for every tenant)."""
    return get_provider(name)
