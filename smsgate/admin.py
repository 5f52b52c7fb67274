"""The operators' monitoring UI: tenants, keys, messages (smsgate.console.message_admin), opt-outs, callbacks."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

from providers.registry import chain_for
from smsgate.console.balances import provider_balances
from smsgate.console.message_admin import MessageAdmin
from smsgate.console.price_admin import CarrierPriceAdmin
from smsgate.media import PREVIEW_SECONDS, signed_path, signed_url
from smsgate.models import (
    ApiKey,
    CarrierPrice,
    MarketingConsent,
    MediaFile,
    Message,
    OptOut,
    ProviderAccount,
    ProviderCallback,
    Tenant,
)
from smsgate.phones import validated_phone


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ["name", "key_prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["key_prefix", "created_at", "last_used_at"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # keys are issued with `manage.py create_api_key` (the raw key is shown once)


class ProviderAccountForm(forms.ModelForm):
    """Credentials are write-only: the form never shows stored secrets, only which keys are set."""

    credentials_json = forms.JSONField(
        required=False, label="credentials",
        help_text='The backend\'s arguments, e.g. {"account_sid": "AC…", "auth_token": "…"}. '
                  "Leave empty to keep the stored ones; they are never shown again.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta:
        model = ProviderAccount
        fields = ["tenant", "provider", "rate_limit_per_minute", "is_active"]

    def clean_credentials_json(self):
        value = self.cleaned_data.get("credentials_json")
        if value in (None, "", {}):
            if not self.instance.pk:
                raise forms.ValidationError("Enter the credentials.")
            return None
        if not isinstance(value, dict):
            raise forms.ValidationError("Credentials are a JSON object of the backend's arguments.")
        return value

    def clean(self):
        """New credentials go on the instance before the model checks them against the provider."""
        cleaned = super().clean()
        if cleaned.get("credentials_json") is not None:
            self.instance.credentials = cleaned["credentials_json"]
        return cleaned


class ProviderAccountInline(admin.TabularInline):
    model = ProviderAccount
    form = ProviderAccountForm
    extra = 0
    fields = ["provider", "credentials_json", "stored_keys", "rate_limit_per_minute", "is_active"]
    readonly_fields = ["stored_keys"]

    @admin.display(description="stored keys")
    def stored_keys(self, obj: ProviderAccount) -> str:
        return ", ".join(sorted(obj.credentials)) if obj.pk else "-"


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "default_region", "primary_provider", "routing", "is_active", "created_at"]
    list_filter = ["is_active", "routing"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ProviderAccountInline, ApiKeyInline]
    actions = ["test_accounts"]

    @admin.action(description="Test carrier accounts (reads each balance)")
    def test_accounts(self, request, queryset):
        for tenant in queryset:
            for row in provider_balances(tenant, accounts_to_test(tenant)):
                self.message_user(request, *account_test_line(tenant, row))

    def get_urls(self):
        return [
            path("<path:object_id>/test-accounts/", self.admin_site.admin_view(self.test_accounts_view),
                 name="smsgate_tenant_test_accounts"),
            *super().get_urls(),
        ]

    def test_accounts_view(self, request, object_id):
        """The tenant page's "Test carrier accounts" button: a read of each balance, then back to the page."""
        tenant = get_object_or_404(Tenant, pk=object_id)
        if not self.has_view_permission(request, tenant):
            raise PermissionDenied
        self.test_accounts(request, Tenant.objects.filter(pk=tenant.pk))
        return redirect("admin:smsgate_tenant_change", tenant.pk)


def accounts_to_test(tenant: Tenant) -> list[str]:
    """The tenant's provider chain, then any other provider it has an account at."""
    own = tenant.provider_accounts.filter(is_active=True).order_by("provider").values_list("provider", flat=True)
    return list(dict.fromkeys([*chain_for(tenant), *own]))


def account_test_line(tenant: Tenant, row: dict) -> tuple[str, int]:
    """One line (and its level) for one balance row of smsgate.console.balances.provider_balances."""
    where = f"{tenant.slug} / {row['provider']}"
    if row["error"] is None:
        return f"{where}: OK, the carrier accepted the credentials; balance {row['amount']} {row['currency']}", \
            messages.SUCCESS
    code, text = row["error"]["code"], row["error"]["message"]
    if code == "not_supported":
        return f"{where}: cannot be tested here ({text})", messages.INFO
    return f"{where}: FAILED, {code}: {text}", messages.ERROR


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["key_prefix", "tenant", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["tenant"]
    readonly_fields = ["tenant", "key_prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


admin.site.register(Message, MessageAdmin)
admin.site.register(CarrierPrice, CarrierPriceAdmin)


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    list_display = ["phone", "tenant", "source", "keyword", "created_at"]
    list_filter = ["source", "tenant"]
    search_fields = ["phone"]


class MarketingConsentForm(forms.ModelForm):
    class Meta:
        model = MarketingConsent
        fields = ["tenant", "phone", "source"]

    def clean(self):
        data = super().clean()
        if data.get("tenant") and data.get("phone"):
            try:
                data["phone"] = validated_phone(data["phone"], data["tenant"].default_region)
            except forms.ValidationError as exc:
                self.add_error("phone", exc.messages)
        return data


@admin.register(MarketingConsent)
class MarketingConsentAdmin(admin.ModelAdmin):
    """Who may receive marketing: a marketing SMS to a number without a row here is cancelled, with that reason."""

    form = MarketingConsentForm
    list_display = ["phone", "tenant", "source", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["phone", "source"]
    fields = ["tenant", "phone", "source"]

    def get_readonly_fields(self, request, obj=None):
        return ["tenant", "phone", "source"] if obj else []


class UnusableFilter(admin.SimpleListFilter):
    """Callbacks kept raw because a field could not be used (their `problem` says which)."""

    title = "usable"
    parameter_name = "unusable"

    def lookups(self, request, model_admin):
        return [("yes", "unusable")]

    def queryset(self, request, queryset):
        return queryset.exclude(problem="") if self.value() == "yes" else queryset


@admin.register(ProviderCallback)
class ProviderCallbackAdmin(admin.ModelAdmin):
    list_display = ["received_at", "provider", "kind", "provider_message_id", "matched", "problem"]
    list_filter = ["provider", "kind", "matched", UnusableFilter]
    search_fields = ["provider_message_id", "event_key"]
    readonly_fields = [f.name for f in ProviderCallback._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(MediaFile)
class MediaFileAdmin(admin.ModelAdmin):
    """Images tenants uploaded for MMS (POST /api/v1/sms/media): read-only, with a preview and a fresh signed URL."""

    list_display = ["id", "created_at", "tenant", "thumbnail", "content_type", "size"]
    list_filter = ["content_type", "tenant"]
    list_select_related = ["tenant"]
    readonly_fields = ["tenant", "content_type", "size", "created_at", "thumbnail", "fresh_url"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # uploads come through the API, which checks the content

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="preview")
    def thumbnail(self, obj: MediaFile):
        path = signed_path(obj, int(timezone.now().timestamp()) + PREVIEW_SECONDS)
        return format_html('<img class="media-thumbnail" src="{}" alt="upload #{}" style="max-height:60px">', path,
                           obj.pk)

    @admin.display(description="signed URL (new, for media_urls)")
    def fresh_url(self, obj: MediaFile) -> str:
        if not settings.PUBLIC_BASE_URL:
            return "Set PUBLIC_BASE_URL: carriers fetch media on an absolute URL of this gateway."
        signed = signed_url(obj)
        return f"{signed.url} (works until {signed.expires_at:%d %b %Y %H:%M})"
