"""Carrier prices in the console: per carrier and destination, the platform's and tenants' own, edited in the list."""

import re

import phonenumbers
from django import forms
from django.contrib import admin
from django.utils.html import format_html

from smsgate.models import CarrierPrice, Tenant

COUNTRY = re.compile(r"[A-Za-z]{2}")
PREFIX = re.compile(r"\+?[0-9]{1,15}")


def destination_prefix(text: str) -> str:
    """The digits of a destination written as a country (BR) or a calling-code prefix (55, 5511, +55)."""
    text = (text or "").strip()
    if COUNTRY.fullmatch(text):
        code = phonenumbers.country_code_for_region(text.upper())
        if not code:
            raise forms.ValidationError(f"Unknown country {text!r}: use an ISO code such as BR, or the digits 55.")
        return str(code)
    if not PREFIX.fullmatch(text) or text.lstrip("+").startswith("0"):
        raise forms.ValidationError("A country (BR) or the first 1 to 15 digits of E.164 numbers (55, 5511).")
    return text.lstrip("+")


def currency_code(text: str) -> str:
    """An ISO 4217 code; lower case is accepted (usd), symbols are not (US$)."""
    text = (text or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise forms.ValidationError("Three letters of ISO 4217, e.g. USD, EUR, BRL.")
    return text


def countries_of(prefix: str) -> list[str]:
    """The countries whose numbers start with `prefix`, as ISO codes (the calling code's, if longer)."""
    for length in range(min(len(prefix), 3), 0, -1):
        if regions := phonenumbers.region_codes_for_country_code(int(prefix[:length])):
            return [region for region in regions if region != "001"]
    return []


class PriceListFilter(admin.SimpleListFilter):
    """The platform's prices, or one tenant's own."""

    title = "price list"
    parameter_name = "list"

    def lookups(self, request, model_admin):
        tenants = Tenant.objects.filter(carrier_prices__isnull=False).distinct().order_by("slug")
        return [("platform", "platform"), *((str(tenant.pk), f"tenant {tenant}") for tenant in tenants)]

    def queryset(self, request, queryset):
        if self.value() == "platform":
            return queryset.filter(tenant__isnull=True)
        if self.value() and self.value().isdigit():
            return queryset.filter(tenant_id=int(self.value()))
        return queryset


class CurrencyForm(forms.ModelForm):
    """The list's in-place edit of price and currency."""

    class Meta:
        widgets = {"price": forms.NumberInput(attrs={"style": "width:7em"}),
                   "currency": forms.TextInput(attrs={"size": 4, "style": "width:4em"})}

    def clean_currency(self):
        return currency_code(self.cleaned_data.get("currency"))


class CarrierPriceForm(CurrencyForm):
    prefix = forms.CharField(
        label="destination", max_length=40,
        help_text="A country's ISO code (BR: converted to its calling code 55) or a number prefix (55, 5511). "
                  "The longest prefix of a number that has a price wins.",
    )

    class Meta:
        model = CarrierPrice
        fields = ["tenant", "provider", "prefix", "price", "currency"]
        help_texts = {"tenant": "Empty: the platform's price. A tenant's own replaces it for that tenant."}

    def clean_prefix(self):
        return destination_prefix(self.cleaned_data.get("prefix"))


class CarrierPriceAdmin(admin.ModelAdmin):
    """The price list: edit price and currency in place; a tenant's row overrides the platform's."""

    form = CarrierPriceForm
    list_display = ["provider", "destination", "countries", "price", "currency", "whose", "updated_at"]
    list_display_links = ["destination"]
    list_editable = ["price", "currency"]
    list_filter = ["provider", "currency", PriceListFilter]
    search_fields = ["prefix", "provider", "tenant__slug"]
    search_help_text = "Prefix digits (55), carrier or tenant."
    list_select_related = ["tenant"]
    ordering = ["provider", "prefix", "tenant__slug"]

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, form=CurrencyForm, **kwargs)

    def changelist_view(self, request, extra_context=None):
        # Room for the columns: no app list beside it (the breadcrumbs lead back).
        return super().changelist_view(request, {"is_nav_sidebar_enabled": False, **(extra_context or {})})

    @admin.display(description="destination", ordering="prefix")
    def destination(self, obj: CarrierPrice) -> str:
        return f"+{obj.prefix}"

    @admin.display(description="countries")
    def countries(self, obj: CarrierPrice) -> str:
        regions = countries_of(obj.prefix)
        if len(regions) <= 3:
            return ", ".join(regions) or "-"
        return format_html('<span title="{}">{}, … ({} countries)</span>', ", ".join(regions),
                           ", ".join(regions[:2]), len(regions))

    @admin.display(description="price list", ordering="tenant__slug")
    def whose(self, obj: CarrierPrice) -> str:
        return f"tenant {obj.tenant}" if obj.tenant_id else "platform"
