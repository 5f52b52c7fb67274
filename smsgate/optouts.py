"""Opt-outs: a tenant's numbers that receive no more SMS (STOP replies, carrier-reported opt-outs, staff).

Its own module so that dispatch and tracking record opt-outs without importing
the submit step (which would close services -> tasks -> dispatch -> services).
Policy reads the opt-outs when a message is submitted and again before it is sent.
"""

from smsgate.models import OptOut, Tenant


def add_opt_out(*, tenant: Tenant, phone: str, source: str, keyword: str = "") -> OptOut:
    opt_out, _ = OptOut.objects.get_or_create(tenant=tenant, phone=phone,
                                              defaults={"source": source, "keyword": keyword[:30]})
    return opt_out


def remove_opt_out(*, tenant: Tenant, phone: str) -> bool:
    deleted, _ = OptOut.objects.filter(tenant=tenant, phone=phone).delete()
    return bool(deleted)
