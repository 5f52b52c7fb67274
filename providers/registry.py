"""Provider names and where their backends live, imported lazily."""

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from providers.base import Provider

PROVIDERS = {
    "console": "providers.console.ConsoleProvider",
    "memory": "providers.memory.MemoryProvider",
    "twilio": "providers.twilio.TwilioProvider",
    "smsc": "providers.smsc.SmscProvider",
    "websms": "providers.websms.WebSmsProvider",
    "spothit": "providers.spothit.SpotHitProvider",
    "aircall": "providers.aircall.AircallProvider",
    "chunghwa": "providers.chunghwa.ChunghwaProvider",
}


class UnknownProvider(LookupError):
    pass


def provider_class(name: str) -> type[Provider]:
    try:
        return import_string(PROVIDERS[name])
    except KeyError:
        raise UnknownProvider(f"No SMS provider named {name!r}; known: {', '.join(sorted(PROVIDERS))}") from None


@dataclass(frozen=True)
class Route:
    """One provider as one tenant uses it: the backend, and whose account it sends with."""

    name: str
    provider: Provider
    account_id: int | None = None
    per_minute: int | None = None  # the account's own rate limit, if it sets one

    @property
    def breaker_key(self) -> str:
        """Breakers are per account: one tenant's bad credentials must not stop everyone's sends."""
        return f"{self.name}:{self.account_id or 'default'}"


def route_for(name: str, tenant) -> Route:
    """The backend for `name` with settings' credentials, overridden by the tenant's own.

    A tenant's active ProviderAccount credentials replace the same keys of the
    settings' defaults, and its sender number replaces the backend's sender.
    """
    cls = provider_class(name)
    config = cls.config_from_settings(settings)
    account = tenant.provider_accounts.filter(provider=name, is_active=True).first()
    if account:
        config.update(account.credentials)
        for key in cls.callback_url_keys:
            if config.get(key):
                config[key] += ("&" if "?" in config[key] else "?") + f"tenant={tenant.slug}"
    if tenant.sender_number and cls.sender_key:
        config[cls.sender_key] = tenant.sender_number
    return Route(name=name, provider=cls(**config), account_id=account.pk if account else None,
                 per_minute=account.rate_limit_per_minute if account else None)


def get_provider(name: str, tenant=None) -> Provider:
    """A ready backend for `name`: the tenant's own account if it has one, else settings' credentials."""
    if tenant is not None:
        return route_for(name, tenant).provider
    return provider_class(name).from_settings(settings)


def default_chain() -> list[str]:
    """The provider names to try, in order, when a tenant sets none."""
    chain = [settings.SMS_PRIMARY_PROVIDER, *settings.SMS_FALLBACK_PROVIDERS]
    return list(dict.fromkeys(chain))


def chain_for(tenant) -> list[str]:
    """The tenant's provider chain: its own primary and fallbacks, else the settings' chain."""
    if not tenant.primary_provider:
        return default_chain()
    fallbacks = [name.strip() for name in tenant.fallback_providers.split(",") if name.strip()]
    return list(dict.fromkeys([tenant.primary_provider, *fallbacks]))
