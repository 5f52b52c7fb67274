"""Sending policy: may this tenant send to this number right now?"""

from django.conf import settings

from smsgate.models import OptOut, Tenant
from smsgate.phones import InvalidPhoneNumber, normalize_phone


def refusal_reason(*, tenant: Tenant, to: str) -> str:
    """Why a message to `to` must not be sent, or "" if it may be."""
    if settings.SMS_SAFEGUARD and to not in _safe_numbers(tenant):
        return "safeguard: number is not in SAFE_PHONE_NUMBERS"
    if OptOut.objects.filter(tenant=tenant, phone=to).exists():
        return "recipient opted out"
    return ""


def _safe_numbers(tenant: Tenant) -> set[str]:
    numbers = set()
    for raw in settings.SAFE_PHONE_NUMBERS:
        try:
            numbers.add(normalize_phone(raw, tenant.default_region))
        except InvalidPhoneNumber:
            continue
    return numbers
