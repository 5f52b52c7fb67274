"""The operators' monitoring UI: tenants, keys, messages with their events, opt-outs, callbacks."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from smsgate.models import ApiKey, Message, MessageEvent, OptOut, ProviderAccount, ProviderCallback, Tenant
from smsgate.services import cancel_message
from smsgate.statuses import PENDING


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
    list_display = ["slug", "name", "default_region", "primary_provider", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ProviderAccountInline, ApiKeyInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["key_prefix", "tenant", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["tenant"]
    readonly_fields = ["tenant", "key_prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


class MessageEventInline(admin.TabularInline):
    model = MessageEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "provider", "status", "ok", "error_code", "error_message", "duration_ms"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "tenant", "to", "status_badge", "message_type", "segments", "provider",
                    "price", "attempts", "short_body"]
    list_filter = ["status", "provider", "message_type", "encoding", "tenant"]
    search_fields = ["to", "provider_message_id", "custom_id", "body", "error_code"]
    date_hierarchy = "created_at"
    list_select_related = ["tenant"]
    readonly_fields = [f.name for f in Message._meta.fields]
    inlines = [MessageEventInline]
    actions = ["cancel"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Message):
        colour = {"delivered": "#2e7d32", "sent": "#1565c0", "failed": "#c62828", "undelivered": "#c62828",
                  "cancelled": "#6d6d6d", "expired": "#6d6d6d"}.get(obj.status, "#ef6c00")
        return format_html('<b style="color:{}">{}</b> ({})', colour, obj.status, obj.status_code)

    @admin.display(description="body")
    def short_body(self, obj: Message) -> str:
        return obj.body if len(obj.body) <= 60 else obj.body[:57] + "…"

    @admin.action(description="Cancel selected messages not sent yet")
    def cancel(self, request, queryset):
        cancelled = sum(cancel_message(m, f"cancelled by {request.user}") for m in queryset.filter(status__in=PENDING))
        self.message_user(request, f"Cancelled {cancelled} message(s).", messages.SUCCESS)


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    list_display = ["phone", "tenant", "source", "keyword", "created_at"]
    list_filter = ["source", "tenant"]
    search_fields = ["phone"]


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
