"""Provider names and where their backends live, imported lazily; each tenant's routes to them."""

import hashlib
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
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
        raise UnknownProvider(f"unknown provider {name!r} (known: {', '.join(sorted(PROVIDERS))})") from None


def provider_choices() -> list[tuple[str, str]]:
    """The registered names as model/form choices."""
    return [(name, name) for name in sorted(PROVIDERS)]


def split_provider_list(text: str) -> list[str]:
    """The names of a comma-separated list such as Tenant.fallback_providers."""
    return [name.strip() for name in text.split(",") if name.strip()]


def validate_provider_list(text: str) -> None:
    """Every name in the comma-separated `text` is a registered provider."""
    unknown = [name for name in split_provider_list(text) if name not in PROVIDERS]
    if unknown:
        raise ValidationError(f"Unknown provider(s): {', '.join(unknown)}. Known: {', '.join(sorted(PROVIDERS))}.")


def account_problem(cls: type[Provider], credentials: dict) -> str:
    """Why a tenant's own account `credentials` cannot work with backend `cls`, or ""."""
    if unknown := _unknown_keys(cls, credentials):
        return f"the account has unknown credentials: {', '.join(unknown)}"
    if missing := [key for key in cls.required_credentials if not credentials.get(key)]:
        return f"the account lacks {_and(missing)}"
    return ""


def settings_problem(cls: type[Provider]) -> str:
    """Why the platform's settings cannot make backend `cls` send, or ""."""
    if missing := [cls.setting_name(key) for key in cls.required_credentials if not cls.setting(settings, key)]:
        return f"{_and(missing)} {'is' if len(missing) == 1 else 'are'} not set"
    return ""


def _unknown_keys(cls: type[Provider], credentials: dict) -> list[str]:
    """The keys of `credentials` that are none of the backend's configuration keys."""
    return sorted(set(credentials) - set(cls.config_keys()))


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


@dataclass(frozen=True)
class Route:
    """One provider as one tenant uses it: the backend, and whose account it sends with."""

    name: str
    provider: Provider | None  # None when there is no backend of that name
    account_id: int | None = None
    per_minute: int | None = None  # the account's own rate limit, if it sets one
    unusable: str = ""  # why this route can never send (unknown provider, missing credentials), or ""

    def cannot_send(self, message) -> str:
        """Why this route cannot carry `message`, or "": the chain then moves on to the next."""
        return f"{self.name}: {self.unusable}" if self.unusable else self.provider.cannot_send(message)

    @property
    def breaker_key(self) -> str:
        """Breakers are per account: one tenant's bad credentials must not stop everyone's sends."""
        return f"{self.name}:{self.account_id or 'default'}"


class _Instances:
    """Built backends, reused while their configuration is the same: a bounded, thread-safe LRU.

    A backend holds connections (Twilio's SDK a requests.Session): building one
    per message opened a new TLS connection per message. An instance is keyed
    by its class, account and a digest of its whole configuration, so changed
    credentials (or settings) simply build a new one; the old one ages out.
    Backends keep no per-message state, so one instance serves every thread.
    """

    def __init__(self, size: int):
        self.size = size
        self._built: OrderedDict[tuple, Provider] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, cls: type[Provider], account_id: int | None, config: dict) -> Provider:
        key = (cls, account_id, _digest(config))
        with self._lock:
            if (provider := self._built.get(key)) is not None:
                self._built.move_to_end(key)
                return provider
        provider = cls(**config)  # outside the lock: building may be slow; a race builds one twice
        with self._lock:
            self._built[key] = provider
            while len(self._built) > self.size:
                self._built.popitem(last=False)
        return provider

    def clear(self) -> None:
        with self._lock:
            self._built.clear()


def _digest(config: dict) -> str:
    """Identifies a configuration without keeping its secrets in a key (values of any JSON type, or not)."""
    text = json.dumps(config, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


instances = _Instances(size=256)
# A forked child (a Celery pool process) must not share its parent's connections.
os.register_at_fork(after_in_child=instances.clear)


def route_for(name: str, tenant) -> Route:
    """The backend for `name` with settings' credentials, overridden by the tenant's own.

    A tenant's active ProviderAccount credentials replace the same keys of the
    settings' defaults, and its sender number replaces the backend's sender. An
    account's identity (the backend's required credentials) is never completed
    with the platform's: a tenant never sends, or reads a balance, as the platform.
    A route missing credentials is built but marked `unusable`. The backend
    is reused from earlier routes with the same configuration (`instances`).
    """
    cls = provider_class(name)
    config = cls.config_from_settings(settings)
    account = tenant.provider_accounts.filter(provider=name, is_active=True).first()
    if account:
        unusable = account_problem(cls, account.credentials)
        unknown = _unknown_keys(cls, account.credentials)
        config.update(dict.fromkeys(cls.required_credentials, ""))
        config.update((key, value) for key, value in account.credentials.items() if key not in unknown)
        for key in cls.callback_url_keys:
            if config.get(key):
                config[key] += ("&" if "?" in config[key] else "?") + f"tenant={tenant.slug}"
    else:
        unusable = settings_problem(cls)
    if tenant.sender_number and cls.sender_key:
        config[cls.sender_key] = tenant.sender_number
    provider = instances.get(cls, account.pk if account else None, config)
    return Route(name=name, provider=provider, account_id=account.pk if account else None,
                 per_minute=account.rate_limit_per_minute if account else None, unusable=unusable)


def get_provider(name: str, tenant=None) -> Provider:
    """A ready backend for `name`: the tenant's own account if it has one, else settings' credentials."""
    if tenant is not None:
        return route_for(name, tenant).provider
    cls = provider_class(name)
    return instances.get(cls, None, cls.config_from_settings(settings))


def default_chain() -> list[str]:
    """The provider names to try, in order, when a tenant sets none."""
    chain = [settings.SMS_PRIMARY_PROVIDER, *settings.SMS_FALLBACK_PROVIDERS]
    return list(dict.fromkeys(chain))


def chain_for(tenant) -> list[str]:
    """The tenant's provider chain: its own primary and fallbacks, else the settings' chain."""
    if not tenant.primary_provider:
        return default_chain()
    return list(dict.fromkeys([tenant.primary_provider, *split_provider_list(tenant.fallback_providers)]))
