"""`balance [--tenant SLUG] [--provider NAME]`: each provider's account balance.

--tenant is checked, but every tenant uses the credentials from settings for
now: per-tenant provider accounts plug in where `_show` builds the provider.
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
        if not Tenant.objects.filter(slug=tenant).exists():
            raise CommandError(f"No tenant {tenant!r}.")
        failed = [name for name in ([provider] if provider else default_chain()) if not self._show(name)]
        if failed:
            raise CommandError(f"Could not get the balance of: {', '.join(failed)}")

    def _show(self, name: str) -> bool:
        """Print one provider's balance; False if the provider failed."""
        try:
            balance = get_provider(name).balance()
        except UnknownProvider as exc:
            raise CommandError(str(exc)) from None
        except ProviderError as exc:
            self.stderr.write(f"{name}: error: {exc}")
            return False
        except Exception as exc:  # e.g. an SDK's own connection error: still show the other providers
            self.stderr.write(f"{name}: error: {type(exc).__name__}: {exc}")
            return False
        if balance is None:
            self.stdout.write(f"{name}: not supported")
        else:
            self.stdout.write(f"{name}: {balance.amount} {balance.currency}".rstrip())
        return True

