"""Sending policy: may this tenant send to this number right now?"""

from django.conf import settings
from django.db import connection

from smsgate.models import OptOut, Tenant
from smsgate.phones import InvalidPhoneNumber, normalize_phone


def refusal_reason(*, tenant: Tenant, to: str) -> str:
    """Why a message to `to` must not be sent, or "" if it may be."""
    return refusal_reasons(tenant=tenant, phones=[to]).get(to, "")


def refusal_reasons(*, tenant: Tenant, phones: list[str]) -> dict[str, str]:
    """The numbers among `phones` that must not be sent to, with why (one query for any number)."""
    reasons = {}
    if settings.SMS_SAFEGUARD:
        safe = _safe_numbers(tenant)
        reasons.update({p: "safeguard: number is not in SAFE_PHONE_NUMBERS" for p in phones if p not in safe})
    reasons.update({p: "recipient opted out" for p in _opted_out(tenant, set(phones))})
    return reasons


def _opted_out(tenant: Tenant, phones: set[str]) -> list[str]:
    """The numbers among `phones` that opted out of this tenant's messages."""
    if connection.vendor != "postgresql":
        return list(OptOut.objects.filter(tenant=tenant, phone__in=phones).values_list("phone", flat=True))
    # One array parameter instead of an IN list of every number: for a batch of 1,000
    # (campaigns, dispatch chunks) Django and psycopg spend 10 ms building and parsing the list.
    table = connection.ops.quote_name(OptOut._meta.db_table)
    with connection.cursor() as cursor:
        # Only our own table name is interpolated; the values are parameters.
        cursor.execute(f"SELECT phone FROM {table} WHERE tenant_id = %s AND phone = ANY(%s)",  # noqa: S608
                       [tenant.pk, list(phones)])
        return [phone for (phone,) in cursor.fetchall()]


def _safe_numbers(tenant: Tenant) -> set[str]:
    numbers = set()
    for raw in settings.SAFE_PHONE_NUMBERS:
        try:
            numbers.add(normalize_phone(raw, tenant.default_region))
        except InvalidPhoneNumber:
            continue
    return numbers
