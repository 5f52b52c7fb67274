"""Sending policy: may this tenant send to this number right now?"""

from django.conf import settings

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
    opted_out = OptOut.objects.filter(tenant=tenant, phone__in=set(phones)).values_list("phone", flat=True)
    reasons.update({p: "recipient opted out" for p in opted_out})
    return reasons


def _safe_numbers(tenant: Tenant) -> set[str]:
    numbers = set()
    for raw in settings.SAFE_PHONE_NUMBERS:
        try:
            numbers.add(normalize_phone(raw, tenant.default_region))
        except InvalidPhoneNumber:
            continue
    return numbers
