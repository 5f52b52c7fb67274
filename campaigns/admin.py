"""Campaigns in the admin: audience, CSV upload, schedule, progress, per-variant results, cancel."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join

from campaigns.audience import UnreadableCsv, check_csv, decode_csv, import_csv
from campaigns.models import Campaign, Contact, ContactGroup, Recipient, Tag
from campaigns.selectors import campaign_progress, variant_stats
from campaigns.services import campaign_cancel, campaign_schedule


class CampaignForm(forms.ModelForm):
    target_url = forms.URLField(required=False, assume_scheme="https",
                                help_text=Campaign._meta.get_field("target_url").help_text)
    recipients_csv = forms.FileField(
        required=False, help_text="CSV with a phone column; other columns become variables ({PRENOM_ENFANT}, ...)."
    )

    class Meta:
        model = Campaign
        fields = ["tenant", "name", "template", "body", "message_type", "target_url", "tags", "groups",
                  "scheduled_at"]

    def clean_recipients_csv(self) -> str | None:
        """The upload's text, once it is known to be readable: a bad file is a form error and imports nothing."""
        upload = self.cleaned_data.get("recipients_csv")
        if not upload:
            return None
        limit = settings.CAMPAIGN_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise ValidationError(f"The file has {upload.size:,} bytes; the limit is {limit:,} bytes.")
        try:
            text = decode_csv(upload.read())
            check_csv(text)
        except UnreadableCsv as exc:
            raise ValidationError(str(exc)) from None
        return text


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = ["name", "tenant", "status", "scheduled_at", "recipient_count", "enqueued_at"]
    list_filter = ["status", "tenant"]
    search_fields = ["name"]
    filter_horizontal = ["tags", "groups"]
    readonly_fields = ["status", "status_reason", "started_at", "enqueued_at", "progress", "results"]
    actions = ["schedule", "cancel"]

    @admin.display(description="recipients")
    def recipient_count(self, obj: Campaign) -> int:
        return obj.recipients.count()

    @admin.display(description="progress")
    def progress(self, obj: Campaign):
        if not obj.pk:
            return "-"
        data = campaign_progress(obj)
        r = data["recipients"]
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(data["messages"].items())) or "none yet"
        return format_html("{} recipients, {} processed, {} skipped. Messages: {}",
                           r["total"], r["processed"], r["skipped"], statuses)

    @admin.display(description="results by variant")
    def results(self, obj: Campaign):
        rows = variant_stats(obj) if obj.pk else []
        if not rows:
            return "-"
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (r["label"] or "(body)", r["messages"], r["sent"], r["delivered"], r["failed"], r["clicked"])
            for r in rows))
        return format_html("<table><tr><th>variant</th><th>messages</th><th>sent</th><th>delivered</th>"
                           "<th>failed</th><th>clicked</th></tr>{}</table>", body)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        text = form.cleaned_data.get("recipients_csv")
        if text:
            result = import_csv(obj, text)
            level = messages.WARNING if result.errors else messages.SUCCESS
            detail = "; ".join(result.errors[:5])
            self.message_user(request, f"CSV: {result.rows} rows, {result.added} recipients added, "
                                       f"{result.duplicates} duplicate numbers skipped, {result.refused} rows "
                                       f"refused. {detail}", level)

    @admin.action(description="Schedule selected campaigns (at their date, or now)")
    def schedule(self, request, queryset):
        for campaign in queryset:
            try:
                campaign_schedule(campaign)
                self.message_user(request, f"{campaign}: scheduled for {campaign.scheduled_at:%Y-%m-%d %H:%M}.")
            except ValidationError as exc:
                self.message_user(request, f"{campaign}: {'; '.join(exc.messages)}", messages.ERROR)

    @admin.action(description="Cancel selected campaigns")
    def cancel(self, request, queryset):
        for campaign in queryset:
            cancelled = campaign_cancel(campaign, reason=f"cancelled by {request.user}")
            self.message_user(request, f"{campaign}: cancelled, {cancelled} pending message(s) stopped.")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["phone", "name", "tenant", "created_at"]
    list_filter = ["tenant", "tags", "groups"]
    search_fields = ["phone", "name"]
    filter_horizontal = ["tags", "groups"]


@admin.register(Tag, ContactGroup)
class NamedAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant"]
    list_filter = ["tenant"]
    search_fields = ["name"]


class ProcessedFilter(admin.SimpleListFilter):
    """Recipients the enqueuer has passed (message written, or skipped with an error)."""

    title = "processed"
    parameter_name = "processed"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(Recipient.PROCESSED)
        if self.value() == "no":
            return queryset.exclude(Recipient.PROCESSED)
        return queryset


@admin.register(Recipient)
class RecipientAdmin(admin.ModelAdmin):
    list_display = ["phone", "campaign", "is_processed", "error"]
    list_filter = [ProcessedFilter, "campaign"]
    list_select_related = ["campaign"]
    search_fields = ["phone"]
    readonly_fields = ["campaign", "phone", "variables", "link_code", "is_processed", "error"]

    @admin.display(description="processed", boolean=True)
    def is_processed(self, obj: Recipient) -> bool:
        return obj.processed

    def has_add_permission(self, request):
        return False
