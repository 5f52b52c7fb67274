"""Providers' account balances, as a tenant sees them (its own accounts where it has them)."""

import logging

from providers.base import ProviderError
from providers.registry import chain_for, get_provider
from smsgate.models import Tenant

logger = logging.getLogger(__name__)


def provider_balances(tenant: Tenant, providers: list[str] | None = None) -> list[dict]:
    """One row per provider: {provider, amount, currency, error}; amount is a decimal string, or None.

    Raises UnknownProvider for a name that is no provider; a carrier's failure is
    reported in its row, so one carrier down does not hide the others.
    """
    rows = []
    for name in providers or chain_for(tenant):
        provider = get_provider(name, tenant)
        row = {"provider": name, "amount": None, "currency": "", "error": ""}
        try:
            balance = provider.balance()
        except ProviderError as exc:
            row["error"] = str(exc)
        except Exception as exc:  # e.g. an SDK's own connection error
            logger.warning("balance of %s failed", name, exc_info=True)
            row["error"] = f"{type(exc).__name__}: {exc}"
        else:
            if balance is not None:
                row.update(amount=str(balance.amount), currency=balance.currency)
            else:
                row["error"] = "not supported"
        rows.append(row)
    return rows
