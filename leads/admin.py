"""Leads in the admin: who asked to be contacted, their consent, and the SMS sent to them."""

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from leads.models import Lead
from leads.selectors import SOURCE_TYPE


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "tenant", "name", "phone", "channel", "status", "consent_gdpr",
                    "consent_marketing"]
    list_filter = ["status", "channel", "consent_marketing", "tenant"]
    search_fields = ["name", "phone", "email"]
    date_hierarchy = "created_at"
    list_select_related = ["tenant"]
    readonly_fields = ["tenant", "status", "status_reason", "consent_gdpr", "consent_marketing", "consent_at",
                       "consent_ip", "consent_user_agent", "created_at", "contacted_at", "sms"]

    def has_add_permission(self, request):
        return False  # leads arrive through the API, with the consent record it takes

    @admin.display(description="SMS")
    def sms(self, lead: Lead) -> str:
        query = urlencode({"source_type": SOURCE_TYPE, "source_id": lead.pk})
        return format_html('<a href="{}?{}">SMS sent for this lead</a>', reverse("admin:smsgate_message_changelist"),
                           query)
