"""GET /admin/dashboard/: what is failing and why, today's traffic, carriers, charts and variants.

Staff with the permission DASHBOARD_PERMISSION only (superusers have it): the numbers cover all tenants
unless one is chosen. Every number links to the admin message list of the messages behind it
(smsgate.console.admin_filters).
"""

from datetime import date
from functools import partial

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone

from smsgate.console import dashboard, latency
from smsgate.console.admin_filters import message_list_url
from smsgate.console.dashboard_charts import bar_chart
from smsgate.console.periods import day_end, day_start, days, supported_day
from smsgate.console.stats import ACCEPTED, DELIVERY_KNOWN, FAILED
from smsgate.models import Tenant
from smsgate.statuses import Status

DASHBOARD_PERMISSION = "smsgate.view_message"


class DashboardFilter(forms.Form):
    tenant = forms.ModelChoiceField(Tenant.objects.order_by("name"), required=False, empty_label="All tenants")
    since = forms.DateField(required=False, validators=[supported_day],
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, validators=[supported_day],
                            widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "Until must not be before since.")
        return data

    def scope(self):
        """(tenant or None, first day, last day); the days are inclusive.

        A field that does not validate (its error is shown above the charts) is left at its default.
        """
        self.is_valid()  # an unbound form has no cleaned_data; a bound one keeps only its valid fields
        data = getattr(self, "cleaned_data", {})
        return (data.get("tenant"), *days(data.get("since"), data.get("until")))


def dashboard_view(request):
    if not request.user.has_perm(DASHBOARD_PERMISSION):
        raise PermissionDenied(f"The dashboard needs the permission {DASHBOARD_PERMISSION}.")
    form = DashboardFilter(request.GET or None)
    tenant, first, last = form.scope()
    since, until = day_start(first), day_end(last)
    in_period = partial(message_list_url, tenant, first, last)
    messages = dashboard.messages_in_range(tenant, since, until)
    histograms = latency.histograms(messages, percentiles=True)
    carriers = [{**row, "urls": carrier_urls(in_period, row["provider"])}
                for row in dashboard.carrier_rows(messages, since, histograms)]
    variants = dashboard.variant_performance(messages, tenant, since, until)
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "form": form,
        "since": first,
        "until": last,
        "summary": today_summary(tenant),
        "alerts": dashboard.carrier_alerts(carriers),
        "slo_alerts": latency.slo_breaches(tenant),
        "latency_buckets": latency_rows(histograms),
        "carriers": carriers,
        "health": dashboard.carrier_health(tenant),
        "charts": charts(tenant, in_period, messages, carriers, variants),
        "variants": variants,
        "latency_bounds": latency.BUCKETS,
    }
    return TemplateResponse(request, "admin/dashboard.html", context)


def latency_rows(histograms: dict) -> list[dict]:
    """One row per carrier and stage: how many of the period's messages fell in each latency bucket."""
    return [{"provider": provider, "stage": label, "counts": latency.bucket_counts(stages[stage]["buckets"])}
            for provider, stages in histograms.items() for stage, label in latency.STAGES.items()]


def today_summary(tenant) -> list[dict]:
    today = timezone.localdate()
    return [{**tile, "url": message_list_url(tenant, today, today, status=tile["statuses"])}
            for tile in dashboard.today_summary(tenant, today)]


def carrier_urls(in_period, provider: str) -> dict:
    """The message lists behind a carrier's numbers in the period."""
    return {
        "attempts": in_period(attempted_via=provider),
        "failed_attempts": in_period(failed_via=provider),
        "accepted": in_period(provider=provider, status=ACCEPTED),
        "delivered": in_period(provider=provider, status=[Status.DELIVERED]),
        "failed": in_period(provider=provider, status=FAILED),
        "cost": in_period(provider=provider, price__isnull="false"),
    }


def on_day(tenant, **lookups):
    """links() for a chart of days: a bar opens that day's messages, a segment those of its status."""
    def links(day: date, series: str | None) -> str:
        return message_list_url(tenant, day, day, **(lookups or ({"status": [series]} if series else {})))
    return links


def cost_charts(chart_id: str, title: str, per_currency: dict[str, dict], links) -> list:
    """One chart per currency ({currency: {label: cost}}), as amounts in different currencies cannot be added.

    The first (the currency of the most messages) keeps `chart_id`; an empty one stands in when nothing has a price.
    """
    return [bar_chart(chart_id if index == 0 else f"{chart_id}-{currency.lower() or 'unnamed'}",
                      f"{title} ({currency})" if currency else title, data, links=links(currency))
            for index, (currency, data) in enumerate((per_currency or {"": {}}).items())]


def _per_currency(carriers: list[dict], order: list[str]) -> dict[str, dict]:
    """{currency: {carrier: cost}} of the carrier rows, currencies in `order` (the day chart's)."""
    charts: dict[str, dict] = {}
    for row in carriers:
        for currency, total in row["costs"].items():
            charts.setdefault(currency, {})[row["provider"]] = total
    rank = {currency: index for index, currency in enumerate(order)}
    return dict(sorted(charts.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))


def charts(tenant, in_period, messages, carriers, variants) -> list:
    variant_ids = {row["name"]: row["variant"] for row in variants}
    carrier_lists = {row["provider"]: row["urls"] for row in carriers}  # carrier_urls, made once per carrier
    day_costs = dashboard.cost_by_day(messages)
    return [
        bar_chart("volume", "Messages per day by status", dashboard.volume_by_day(messages), links=on_day(tenant)),
        bar_chart("delivery-rate", "Delivery rate per day", dashboard.delivery_rate_by_day(messages), "%",
                  links=on_day(tenant, status=DELIVERY_KNOWN)),
        *cost_charts("cost", "Cost per day", day_costs,
                     lambda currency: on_day(tenant, price__isnull="false", price_unit=currency)),
        bar_chart("carrier-attempts", "Send attempts per carrier",
                  {row["provider"]: {"accepted": row["attempts"] - row["failed_attempts"],
                                     "failed attempts": row["failed_attempts"]} for row in carriers},
                  links=lambda name, series: carrier_lists[name][
                      "failed_attempts" if series == "failed attempts" else "attempts"]),
        *cost_charts("provider-cost", "Cost per carrier", _per_currency(carriers, order=list(day_costs)),
                     lambda currency: lambda name, series: carrier_lists[name]["cost"]),
        bar_chart("variants", "Clicks per delivered message, by variant",
                  {row["name"]: row["click_rate"] for row in variants}, "%",
                  links=lambda name, series: in_period(variant=variant_ids[name], status=[Status.DELIVERED])),
    ]
