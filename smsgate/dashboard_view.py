"""GET /admin/dashboard/: staff-only charts of volume, delivery, providers, cost and variants."""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone

from smsgate import dashboard
from smsgate.models import Tenant

DEFAULT_DAYS = 30


class DashboardFilter(forms.Form):
    tenant = forms.ModelChoiceField(Tenant.objects.order_by("name"), required=False, empty_label="All tenants")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def scope(self):
        """(tenant or None, since, until) as aware datetimes; until is inclusive of its whole day."""
        data = self.cleaned_data if self.is_valid() else {}
        today = timezone.localdate()
        until_day = data.get("until") or today
        since_day = data.get("since") or until_day - timedelta(days=DEFAULT_DAYS - 1)
        since = timezone.make_aware(datetime.combine(since_day, time.min))
        until = timezone.make_aware(datetime.combine(until_day + timedelta(days=1), time.min))
        return data.get("tenant"), since, until


def dashboard_view(request):
    form = DashboardFilter(request.GET or None)
    tenant, since, until = form.scope()
    messages = dashboard.messages_in_range(tenant, since, until)
    providers = dashboard.provider_stats(messages)
    charts = [
        dashboard.bar_chart("volume", "Messages per day by status", dashboard.volume_by_day(messages)),
        dashboard.bar_chart("delivery-rate", "Delivery rate per day", dashboard.delivery_rate_by_day(messages), "%"),
        dashboard.bar_chart("cost", "Cost per day", dashboard.cost_by_day(messages)),
        dashboard.bar_chart("provider-success", "Success rate per provider",
                            {row["provider"]: row["success_rate"] or 0 for row in providers}, "%"),
        dashboard.bar_chart("provider-cost", "Cost per provider", {row["provider"]: row["cost"] for row in providers}),
    ]
    variants = dashboard.variant_performance(messages, tenant, since, until)
    charts.append(dashboard.bar_chart(
        "variants", "Clicks per delivered message, by variant",
        {row["name"]: round(100 * row["clicked"] / row["delivered"], 1) if row["delivered"] else 0 for row in variants},
        "%"))
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "form": form,
        "since": since,
        "until": until - timedelta(days=1),
        "charts": charts,
        "providers": providers,
        "health": dashboard.provider_health_rows(tenant),
        "variants": variants,
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
