"""The one small interface every carrier backend implements, and its errors.

A backend turns a Message into its carrier's wire format and the carrier's
answer into the normalised results below. It never touches the database:
the core records what happened.
"""

import os
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest


class ProviderError(Exception):
    """A carrier refused or failed a request. `code` is the carrier's own code."""

    permanent = False

    def __init__(self, message: str, *, code: str | int | None = None, raw: Any = None):
        super().__init__(message)
        self.code = "" if code is None else str(code)
        self.raw = raw


class TransientProviderError(ProviderError):
    """Timeout, 5xx, throttling: another provider, or a later try, may succeed."""


class RateLimitedError(TransientProviderError):
    """The carrier said too many requests."""


class ProviderAuthError(TransientProviderError):
    """Our credentials were refused. Another provider may still work."""


class PermanentProviderError(ProviderError):
    """The message itself can never be sent (invalid number, unsubscribed, ...)."""

    permanent = True


class RecipientOptedOut(PermanentProviderError):
    """The carrier says the recipient unsubscribed (e.g. Twilio 21610)."""


class WebhookAuthError(Exception):
    """A callback failed its carrier's authentication (signature or secret)."""


class UnusableCallback(Exception):
    """An authenticated callback whose fields cannot be used: `errors` maps each field to what is wrong."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    status: str = "sent"  # a smsgate status
    segments: int | None = None
    price: Decimal | None = None
    price_unit: str = ""
    raw: Any = None


@dataclass(frozen=True)
class StatusUpdate:
    provider_message_id: str
    status: str  # a smsgate status
    error_code: str = ""
    error_message: str = ""
    occurred_at: datetime | None = None
    raw: Any = None

    @property
    def event_key(self) -> str:
        """Identifies the same receipt when the carrier sends it twice."""
        return f"{self.provider_message_id}:{self.status}:{self.error_code}"


@dataclass(frozen=True)
class InboundMessage:
    sender: str
    recipient: str
    body: str
    provider_message_id: str = ""
    raw: Any = None


@dataclass(frozen=True)
class Balance:
    amount: Decimal
    currency: str = ""
    extra: dict = field(default_factory=dict)


class Provider:
    """Base class for carrier backends. Subclasses set `name` and override what they support.

    Configuration by convention: a backend declares its keys once, in
    `required_credentials` (what identifies and authenticates an account) and
    `optional_settings` (anything else, with its default). Each key is both
    the constructor's keyword argument and a ProviderAccount credential key,
    and the platform's value is the setting `<settings_prefix><KEY>`
    (e.g. "SMSC_" + "login" -> settings.SMSC_LOGIN), unless `setting_names`
    names another; a name settings.py does not define is read from the
    environment variable of that name (or the file NAME_FILE names), so a new
    carrier needs no lines there. The constructor sets each key as an
    attribute of the same name.
    """

    name: str = ""
    max_length: int | None = None  # characters, if the carrier limits the body
    supports_mms = False  # True: send() carries a message's media_urls (MMS)
    sender_key: str | None = None  # the configuration key a tenant's own sender number replaces
    # The callbacks this carrier pushes ("delivery", "inbound"); any other kind is 404 before anything is read.
    callback_kinds: tuple[str, ...] = ()
    # True when the carrier posts a refused callback again and again (or disables the webhook): an
    # authenticated callback we cannot use is then answered 200 and stored as unusable, not 400.
    retries_refused_callbacks = False
    # Configuration keys holding our callback URLs: a tenant's own account gets `tenant=<slug>`
    # added, so its callbacks are verified with its own credentials.
    callback_url_keys: tuple[str, ...] = ()
    settings_prefix: str = ""  # "SMSC_": the platform's value of key `login` is settings.SMSC_LOGIN
    # The keys that identify and authenticate an account. A route missing any of them cannot send:
    # the chain skips it. An account's are never completed with the platform's.
    required_credentials: tuple[str, ...] = ()
    # Every other key, with its default; merged along the class hierarchy.
    optional_settings: dict[str, Any] = {}
    # A key whose setting does not follow the prefix convention -> that setting's name; merged along the
    # class hierarchy. Every carrier that has a `timeout` key shares one setting.
    setting_names: dict[str, str] = {"timeout": "PROVIDER_HTTP_TIMEOUT"}

    def __init__(self, **config: Any):
        if unknown := sorted(set(config) - set(self.config_keys())):
            raise TypeError(f"{type(self).__name__} takes no {', '.join(unknown)}")
        for key, default in self.config_defaults().items():
            setattr(self, key, config.get(key, default))

    @classmethod
    def config_defaults(cls) -> dict[str, Any]:
        """Every configuration key with its default ("" for a credential)."""
        defaults: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            defaults.update(vars(klass).get("optional_settings", {}))
        return {**dict.fromkeys(cls.required_credentials, ""), **defaults}

    @classmethod
    def config_keys(cls) -> list[str]:
        return list(cls.config_defaults())

    @classmethod
    def setting_name(cls, key: str) -> str:
        """The setting that gives the platform's value of configuration `key`."""
        for klass in cls.__mro__:
            if key in vars(klass).get("setting_names", {}):
                return vars(klass)["setting_names"][key]
        return cls.settings_prefix + key.upper()

    @classmethod
    def setting(cls, settings, key: str, default: Any = "") -> Any:
        """The platform's value of configuration `key`: its setting, else its environment variable, else `default`."""
        name = cls.setting_name(key)
        if hasattr(settings, name):
            return getattr(settings, name)
        if path := os.environ.get(f"{name}_FILE"):  # a Docker secret, as settings.py's env_str reads it
            with open(path, encoding="utf-8") as secret:
                return secret.read().strip()
        return os.environ.get(name, default)

    @classmethod
    def config_from_settings(cls, settings) -> dict[str, Any]:
        """Constructor keyword arguments for the default tenant: each key's `setting`.

        A tenant's own ProviderAccount credentials use the same keys and override these.
        """
        return {key: cls.setting(settings, key, default) for key, default in cls.config_defaults().items()}

    @classmethod
    def from_settings(cls, settings) -> "Provider":
        return cls(**cls.config_from_settings(settings))

    def cannot_send(self, message) -> str:
        """Why this backend can never carry `message` (too long, a country it does not serve), or "".

        Checked before sending, so the chain moves on to the next provider instead
        of failing the message; the message fails only if no provider can carry it.
        """
        if self.max_length and len(message.body) > self.max_length:
            return f"{self.name} accepts at most {self.max_length} characters"
        if getattr(message, "media_urls", None) and not self.supports_mms:
            return f"{self.name} does not send MMS"
        return ""

    def send(self, message) -> SendResult:
        raise NotImplementedError

    def fetch_status(self, provider_message_id: str) -> StatusUpdate | None:
        return None

    def balance(self) -> Balance | None:
        return None

    # Callbacks: the core (smsgate.api.callbacks) calls authenticate_callback first, for every request, and
    # only then parse_delivery / parse_inbound, which may therefore assume an authentic request.

    def authenticate_callback(self, request: HttpRequest, kind: str) -> None:
        """WebhookAuthError unless `request` comes from the carrier holding this backend's credentials.

        Reads no more of the request than its scheme needs (a header, the URL, a
        token); a body it cannot read carries no credentials, so is refused too.
        The default refuses everything: a backend that accepts callbacks must override it.
        """
        raise WebhookAuthError(f"{self.name} has no way to authenticate callbacks")

    def parse_delivery(self, request: HttpRequest) -> list[StatusUpdate]:
        """The receipts in an authenticated request; UnusableCallback if a field we need is malformed.

        A callback that is well formed but tells nothing (an event we do not track) is an empty list.
        """
        raise NotImplementedError(f"{self.name} does not push delivery receipts")

    def parse_inbound(self, request: HttpRequest) -> list[InboundMessage]:
        """The replies in an authenticated request; UnusableCallback if a field we need is malformed."""
        raise NotImplementedError(f"{self.name} does not push inbound messages")

    def webhook_response(self, kind: str):
        """What to answer the carrier after a callback was handled."""
        from django.http import JsonResponse

        return JsonResponse({"ok": True})
