"""Admin: TriboPay postbacks with their raw payload, payments with the recovery funnel, recovery settings."""

import json

from django.contrib import admin
from django.db import models
from django.urls import reverse
from django.utils.html import format_html

from smsgate.models import Tenant
from templates.models import MessageTemplate
from templates.system import RECOVERY_PIX
from webhooks.models import Payment, RecoverySettings, WebhookEvent
from webhooks.selectors import format_brl, recovery_funnel


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "received_at", "tenant", "tribopay_id", "status", "method", "outcome", "processed_at"]
    list_filter = ["status", "method", "outcome", "tenant"]
    search_fields = ["tribopay_id", "detail"]
    date_hierarchy = "received_at"
    list_select_related = ["tenant"]
    fields = ["tenant", "tribopay_id", "status", "method", "received_at", "source_ip", "payment", "processed_at",
              "attempts", "outcome", "detail", "raw_payload"]
    readonly_fields = fields

    @admin.display(description="payload, as received")
    def raw_payload(self, obj: WebhookEvent):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))


class RecoveredFilter(admin.SimpleListFilter):
    title = parameter_name = "recovery"

    def lookups(self, request, model_admin):
        return [("scheduled", "recovery SMS scheduled"), ("sent", "recovery SMS sent"),
                ("recovered", "paid after the SMS")]

    def queryset(self, request, queryset):
        return {
            "scheduled": lambda: queryset.filter(recovery_message__isnull=False),
            "sent": lambda: queryset.filter(recovery_message__sent_at__isnull=False),
            "recovered": lambda: queryset.filter(recovered_at__isnull=False),
        }.get(self.value(), lambda: queryset)()


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    """The changelist shows the recovery funnel (waiting -> SMS sent -> paid) above the payments."""

    list_display = ["tribopay_id", "created_at", "tenant", "method", "status", "amount", "customer_name",
                    "recovery_sms", "recovered_at"]
    list_filter = ["status", "method", RecoveredFilter, "tenant"]
    search_fields = ["tribopay_id", "customer_phone", "customer_name", "customer_email"]
    date_hierarchy = "created_at"
    list_select_related = ["tenant", "recovery_message"]

    @admin.display(description="amount", ordering="amount_cents")
    def amount(self, obj: Payment) -> str:
        return format_brl(obj.amount_cents) if obj.amount_cents is not None else "-"

    @admin.display(description="recovery SMS")
    def recovery_sms(self, obj: Payment):
        message = obj.recovery_message
        if message is None:
            return "-"
        url = reverse("admin:smsgate_message_change", args=[message.pk])
        return format_html('<a href="{}">#{} {}</a>', url, message.pk, message.status)

    def changelist_view(self, request, extra_context=None):
        tenant_id = request.GET.get("tenant__id__exact", "")
        tenant = Tenant.objects.filter(pk=tenant_id).first() if tenant_id.isdigit() else None
        extra_context = {**(extra_context or {}), "funnel": recovery_funnel(tenant), "funnel_tenant": tenant}
        return super().changelist_view(request, extra_context=extra_context)


@admin.register(RecoverySettings)
class RecoverySettingsAdmin(admin.ModelAdmin):
    """The fallback link; the text itself is the tenant's `recovery-pix` message template."""

    list_display = ["tenant", "fallback_link", "text", "updated_at"]
    fields = ["tenant", "fallback_link", "text"]
    readonly_fields = ["text"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="recovery text")
    def text(self, obj: RecoverySettings):
        template = MessageTemplate.objects.filter(tenant_id=obj.tenant_id, code=RECOVERY_PIX).first() if obj.pk \
            else None
        if template is None:
            url = reverse("admin:templates_messagetemplate_changelist") + f"?code={RECOVERY_PIX}"
            return format_html('<a href="{}">the {} message templates</a>', url, RECOVERY_PIX)
        url = reverse("admin:templates_messagetemplate_change", args=[template.pk])
        return format_html('<a href="{}">edit the {} template of {}</a>', url, RECOVERY_PIX, obj.tenant)
