"""Provider names and where their backends live, imported lazily."""

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


def get_provider(name: str) -> Provider:
    """A ready backend for `name`, with the default credentials from settings."""
    cls = provider_class(name)
    return cls.from_settings(settings)


def default_chain() -> list[str]:
    """The provider names to try, in order, when a tenant sets none."""
    chain = [settings.SMS_PRIMARY_PROVIDER, *settings.SMS_FALLBACK_PROVIDERS]
    return list(dict.fromkeys(chain))
