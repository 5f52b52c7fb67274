"""Marketing consents: the numbers that agreed to receive a tenant's marketing SMS (lead forms, operator uploads).

The policy's consent check reads them when a marketing message is submitted;
an opt-out (STOP) still wins over a consent.
"""

from django.db import connection

from smsgate.models import MarketingConsent, Tenant


def record_marketing_consent(*, tenant: Tenant, phone: str, source: str) -> MarketingConsent:
    """Record that `phone` consented; the first record (and its source) is kept."""
    consent, _ = MarketingConsent.objects.get_or_create(tenant=tenant, phone=phone, defaults={"source": source[:100]})
    return consent


def record_marketing_consents(*, tenant: Tenant, phones: list[str], source: str) -> int:
    """Record many in one INSERT; numbers that consented before keep their first record. Returns how many are new.

    The numbers travel as one comma-separated parameter (E.164 holds no comma), as the policy reads them.
    """
    if not phones:
        return 0
    table = connection.ops.quote_name(MarketingConsent._meta.db_table)
    with connection.cursor() as cursor:
        # Only our own table name is interpolated; the values are parameters.
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, phone, source, created_at) "  # noqa: S608
            "SELECT %s, phone, %s, now() FROM unnest(string_to_array(%s, ',')) AS phone "
            "ON CONFLICT (tenant_id, phone) DO NOTHING",
            [tenant.pk, source[:100], ",".join(set(phones))],
        )
        return cursor.rowcount
