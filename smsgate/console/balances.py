"""Providers' account balances, as a tenant may see them: its own accounts' only.

The default tenant owns the platform's carrier accounts (the settings'
credentials) and sees their balances. Any other tenant sees a provider's
balance only through its own ProviderAccount: the platform's account is never
asked on its behalf. A failure is a short code and message; the carrier's own
text (which may hold URLs and account ids) goes to the log only.
"""

import logging

from providers.base import Balance, ProviderAuthError, ProviderError, TransientProviderError
from providers.registry import PROVIDERS, UnknownProvider, chain_for, route_for
from smsgate.models import Tenant

logger = logging.getLogger(__name__)


class NoBalance(Exception):
    """Why a provider's balance is not shown, as a code and a short message for the tenant."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def provider_balances(tenant: Tenant, providers: list[str] | None = None) -> list[dict]:
    """One row per provider (default: the tenant's chain): {provider, amount, currency, error}.

    `amount` is a decimal string or None; `error` is None or {code, message}.
    One provider failing does not hide the others.
    """
    return [_row(tenant, name) for name in providers or chain_for(tenant)]


def _row(tenant: Tenant, name: str) -> dict:
    row = {"provider": name, "amount": None, "currency": "", "error": None}
    try:
        balance = _read(tenant, name)
    except NoBalance as exc:
        return {**row, "error": _error(exc.code, exc.message)}
    except ProviderError as exc:
        logger.warning("balance of %s for tenant %s failed: %s", name, tenant.slug, exc)
        return {**row, "error": _carrier_error(exc)}
    except Exception:  # a backend bug: the traceback is for the log, not the caller
        logger.exception("balance of %s for tenant %s crashed", name, tenant.slug)
        return {**row, "error": _error("internal_error", "the balance could not be read")}
    return {**row, "amount": str(balance.amount), "currency": balance.currency}


def _read(tenant: Tenant, name: str) -> Balance:
    """The balance of the account `tenant` may see at `name`, from the carrier."""
    try:
        route = route_for(name, tenant)
    except UnknownProvider:
        raise NoBalance("unknown_provider", f"unknown provider (known: {', '.join(sorted(PROVIDERS))})") from None
    if route.provider.required_credentials and route.account_id is None and not tenant.is_default:
        raise NoBalance("no_account", f"no {name} account of your own is set up")
    if route.unusable:
        raise NoBalance("not_configured", route.unusable)
    balance = route.provider.balance()
    if balance is None:
        raise NoBalance("not_supported", f"{name} has no balance to read")
    return balance


def _carrier_error(exc: ProviderError) -> dict:
    if isinstance(exc, ProviderAuthError):
        return _error("auth_failed", "the carrier refused the account's credentials")
    if isinstance(exc, TransientProviderError):
        return _error("carrier_unavailable", "the carrier did not answer; try again later")
    return _error("carrier_error", "the carrier refused the request" + (f" (its code {exc.code})" if exc.code else ""))


def _error(code: str, message: str) -> dict:
    return {"code": code, "message": message}
