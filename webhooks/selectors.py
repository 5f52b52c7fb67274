"""Read-only views of payment recovery: the funnel and recovered revenue."""

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from smsgate.models import Tenant
from smsgate.statuses import Status
from webhooks.models import Payment


def format_brl(cents: int | None) -> str:
    """1234567 -> 'R$ 12.345,67' (Brazilian thousands and decimal separators)."""
    reais, centavos = divmod(int(cents or 0), 100)
    return f"R$ {reais:,}".replace(",", ".") + f",{centavos:02d}"


def recovery_funnel(tenant: Tenant | None = None) -> dict:
    """PIX payments that waited -> recovery SMS scheduled -> sent -> paid after it (all tenants if None)."""
    waited = Payment.objects.filter(waiting_since__isnull=False)
    if tenant is not None:
        waited = waited.filter(tenant=tenant)
    funnel = waited.aggregate(
        waiting=Count("id"),
        sms_scheduled=Count("id", filter=Q(recovery_message__isnull=False)),
        sms_cancelled=Count("id", filter=Q(recovery_message__status=Status.CANCELLED)),
        sms_sent=Count("id", filter=Q(recovery_message__sent_at__isnull=False)),
        paid=Count("id", filter=Q(status=Payment.PAID)),
        recovered=Count("id", filter=Q(recovered_at__isnull=False)),
        recovered_revenue_cents=Coalesce(Sum("recovered_amount_cents"), 0),
    )
    funnel["recovered_revenue"] = format_brl(funnel["recovered_revenue_cents"])
    return funnel


def recovered_by_variant(variant_ids: list[int], since) -> dict[int, int]:
    """Per variant of the recovery text, the payments made after their recovery SMS, of SMS written since `since`
    (or ever): the conversions of an A/B test whose goal is payments (templates.ab)."""
    payments = Payment.objects.filter(recovered_at__isnull=False, recovery_message__variant__in=variant_ids)
    if since is not None:
        payments = payments.filter(recovery_message__created_at__gte=since)
    return dict(payments.values_list("recovery_message__variant").annotate(n=Count("pk")).order_by())
