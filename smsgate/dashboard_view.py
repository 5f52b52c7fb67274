"""GET /admin/dashboard/: charts of volume, delivery, providers, cost and variants, for every tenant.

Staff with the permission DASHBOARD_PERMISSION only (superusers have it): the numbers cover all tenants.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from smsgate import dashboard
from smsgate.models import Tenant
from smsgate.periods import period, supported_day

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
        """(tenant or None, since, until) as aware datetimes; until is inclusive of its whole day.

        A field that does not validate (its error is shown above the charts) is left at its default.
        """
        self.is_valid()  # an unbound form has no cleaned_data; a bound one keeps only its valid fields
        data = getattr(self, "cleaned_data", {})
        return (data.get("tenant"), *period(data.get("since"), data.get("until")))


def dashboard_view(request):
    if not request.user.has_perm(DASHBOARD_PERMISSION):
        raise PermissionDenied(f"The dashboard needs the permission {DASHBOARD_PERMISSION}.")
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
