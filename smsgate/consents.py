"""Marketing consents: the numbers that agreed to receive a tenant's marketing SMS (lead forms, operator uploads).

The policy's consent check reads them when a marketing message is submitted;
an opt-out (STOP) still wins over a consent.
"""

from smsgate.models import MarketingConsent, Tenant


def record_marketing_consent(*, tenant: Tenant, phone: str, source: str) -> MarketingConsent:
    """Record that `phone` consented; the first record (and its source) is kept."""
    consent, _ = MarketingConsent.objects.get_or_create(tenant=tenant, phone=phone, defaults={"source": source[:100]})
    return consent


def record_marketing_consents(*, tenant: Tenant, phones: list[str], source: str) -> int:
    """Record many in one INSERT; numbers that consented before keep their first record. Returns how many are new."""
    before = MarketingConsent.objects.filter(tenant=tenant).count()
    MarketingConsent.objects.bulk_create(
        [MarketingConsent(tenant=tenant, phone=phone, source=source[:100]) for phone in set(phones)],
        ignore_conflicts=True, batch_size=2000,
    )
    return MarketingConsent.objects.filter(tenant=tenant).count() - before
