"""Start-up checks of settings that would otherwise fail only when a message is dispatched."""

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ValidationError

from providers.registry import UnknownProvider, default_chain, provider_class, settings_problem
from smsgate.quiet_hours import parse_window


@register()
def quiet_hours_setting(app_configs, **kwargs):
    try:
        parse_window(settings.SMS_QUIET_HOURS)
    except ValidationError as exc:
        return [Error(f"SMS_QUIET_HOURS: {exc.messages[0]}", id="smsgate.E001")]
    return []


@register()
def claim_outlives_a_send(app_configs, **kwargs):
    """A claim must outlive one message's sends through a chain, or a slow carrier causes duplicates."""
    if settings.SMS_CLAIM_STALE_SECONDS < 4 * settings.PROVIDER_HTTP_TIMEOUT:
        return [Warning(
            f"SMS_CLAIM_STALE_SECONDS ({settings.SMS_CLAIM_STALE_SECONDS}) is under 4 x PROVIDER_HTTP_TIMEOUT "
            f"({settings.PROVIDER_HTTP_TIMEOUT}): a message whose carriers time out may be claimed again "
            "while its send is in flight, and be sent twice.", id="smsgate.W001")]
    return []


@register()
def default_chain_providers(app_configs, **kwargs):
    """SMS_PRIMARY_PROVIDER and SMS_FALLBACK_PROVIDERS name registered providers that have their credentials."""
    problems = []
    for name in default_chain():
        try:
            cls = provider_class(name)
        except UnknownProvider as exc:
            problems.append(Error(f"SMS_PRIMARY_PROVIDER / SMS_FALLBACK_PROVIDERS: {exc}", id="smsgate.E002"))
            continue
        if missing := settings_problem(cls):
            problems.append(Warning(
                f"{name}: {missing}; tenants without their own {name} account skip it.", id="smsgate.W002"))
    return problems


@register()
def database_is_postgres(app_configs, **kwargs):
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql":
        return [Error(f"DATABASE_URL points at {engine}: smsgate runs on PostgreSQL only "
                      "(e.g. postgres://user:pass@host:5432/smsgate).", id="smsgate.E010")]
    return []
