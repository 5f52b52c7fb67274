"""Campaigns in the admin: audience, CSV upload, schedule, progress, per-variant results, pause, resume, cancel."""

from functools import partial

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from campaigns.audience import UnreadableCsv, check_csv, decode_csv, import_csv
from campaigns.costs import campaign_costs
from campaigns.models import Campaign, Contact, ContactGroup, Recipient, Tag
from campaigns.selectors import campaigns_progress, progress_of, variant_stats
from campaigns.services import (
    campaign_bodies,
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_schedule,
    check_media,
    text_variables,
)
from smsgate.consents import record_marketing_consents
from smsgate.models import Tenant


class UrlLinesField(forms.CharField):
    """A list of URLs typed one per line (URLs may hold commas, so not Django's comma-separated array field)."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 80})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value) -> list[str]:
        return [line.strip() for line in (value or "").splitlines() if line.strip()]


class CampaignForm(forms.ModelForm):
    """Everything a campaign needs to be sent is checked on save, as form errors: not first at schedule time."""

    media_urls = UrlLinesField(required=False, label="Media (MMS)",
                               help_text=Campaign._meta.get_field("media_urls").help_text)

    target_url = forms.URLField(required=False, assume_scheme="https",
                                help_text=Campaign._meta.get_field("target_url").help_text)
    recipients_csv = forms.FileField(
        required=False, help_text="CSV with a phone column; other columns become variables ({PRENOM_ENFANT}, ...)."
    )
    csv_has_consent = forms.BooleanField(
        required=False, label="The numbers in this file agreed to receive our marketing SMS",
        help_text="Records their marketing consent. Marketing messages go only to numbers with a recorded "
                  "consent; the others are cancelled with the reason shown.",
    )

    class Meta:
        model = Campaign
        fields = ["tenant", "name", "template", "body", "message_type", "target_url", "media_urls", "tags",
                  "groups", "scheduled_at"]

    def clean_recipients_csv(self) -> tuple[str, set[str]] | None:
        """The upload's text and columns, once it is known to be readable: a bad file imports nothing."""
        upload = self.cleaned_data.get("recipients_csv")
        if not upload:
            return None
        limit = settings.CAMPAIGN_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise ValidationError(f"The file has {upload.size:,} bytes; the limit is {limit:,} bytes.")
        try:
            text = decode_csv(upload.read())
            columns = check_csv(text)
        except UnreadableCsv as exc:
            raise ValidationError(str(exc)) from None
        return text, columns

    def clean(self):
        data = super().clean()
        tenant = data.get("tenant")
        if tenant is None:
            return data
        self._check_tenant(tenant, data)
        if data.get("media_urls"):
            try:
                check_media(tenant, data["media_urls"], when=data.get("scheduled_at"))
            except ValidationError as exc:
                self._add_errors(exc)
        try:
            bodies = campaign_bodies(template=data.get("template"), body=data.get("body", ""),
                                     target_url=data.get("target_url", ""))
        except ValidationError as exc:
            self._add_errors(exc)
            return data
        csv = data.get("recipients_csv")
        if csv:
            link = {"URL"} if data.get("target_url") else set()
            missing = sorted(text_variables(bodies) - link - csv[1])
            if missing:
                self.add_error("recipients_csv", f"The CSV has no column for {', '.join(missing)}, "
                                                 "which the text uses: every recipient would be skipped.")
        elif not self._has_audience(tenant, data):
            self.add_error(None, "The campaign has no recipients: choose tags or groups with contacts, "
                                 "or upload a CSV.")
        return data

    def _check_tenant(self, tenant, data) -> None:
        """The template, tags and groups must be the campaign's tenant's: the admin lists every tenant's."""
        template = data.get("template")
        if template is not None and template.tenant_id != tenant.pk:
            self.add_error("template", f"Template {template} belongs to another tenant.")
        for field in ("tags", "groups"):
            others = [str(item) for item in data.get(field, []) if item.tenant_id != tenant.pk]
            if others:
                self.add_error(field, f"Of another tenant: {', '.join(others)}.")

    def _add_errors(self, exc: ValidationError) -> None:
        for field, errors in exc.message_dict.items():
            self.add_error(field if field in self.fields else None, errors)

    def _has_audience(self, tenant, data) -> bool:
        if self.instance.pk and self.instance.recipients.exists():
            return True
        tags, groups = data.get("tags") or [], data.get("groups") or []
        return Contact.objects.filter(tenant=tenant).filter(Q(tags__in=tags) | Q(groups__in=groups)).exists()


class CampaignChangeList(ChangeList):
    """The campaign list, with the progress of the page's campaigns read at once (campaigns_progress)."""

    def get_results(self, request):
        super().get_results(request)
        progress = campaigns_progress(self.result_list)
        for campaign in self.result_list:
            campaign.progress = progress[campaign.pk]


def amounts(totals: dict) -> str:
    """Totals per currency, e.g. "1.2 USD + 30 RUB" (never added together), or "-"."""
    return " + ".join(f"{total.normalize():f} {currency or '?'}" for currency, total in sorted(totals.items())) or "-"


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """Campaigns with their progress; Save and schedule, Pause, Resume and Cancel are buttons; a started campaign
    is locked."""

    form = CampaignForm
    list_display = ["name", "tenant", "status", "scheduled_at", "progress_bar", "enqueued_at"]
    list_filter = ["status", "tenant"]
    search_fields = ["name"]
    filter_horizontal = ["tags", "groups"]
    readonly_fields = ["status", "status_reason", "started_at", "enqueued_at", "progress", "costs", "results"]
    actions = ["schedule", "pause", "resume", "cancel"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tenant")

    def get_changelist(self, request, **kwargs):
        return CampaignChangeList

    def has_change_permission(self, request, obj=None):
        """A started campaign is shown read-only: what it sends is what its page says."""
        if obj is not None and obj.is_locked:
            return False
        return super().has_change_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        """Progress first on a campaign's page; no upload on a started one (it takes no more recipients)."""
        audience = ["tags", "groups"] + ([] if obj and obj.is_locked else ["recipients_csv", "csv_has_consent"])
        fieldsets = [
            (None, {"fields": ["tenant", "name", "template", "body", "message_type", "target_url", "media_urls"]}),
            ("Audience", {"fields": audience}),
            ("Schedule", {"fields": ["scheduled_at", "status", "status_reason", "started_at", "enqueued_at"]}),
        ]
        if obj is not None:
            fieldsets.insert(0, ("Progress", {"fields": ["progress", "costs", "results"]}))
        return fieldsets

    def get_urls(self):
        buttons = [path(f"<path:object_id>/{name}/", self.admin_site.admin_view(partial(self.button_view, name)),
                        name=f"campaigns_campaign_{name}") for name in ("pause", "resume", "cancel")]
        return [*buttons, *super().get_urls()]

    @admin.display(description="progress")
    def progress_bar(self, obj: Campaign):
        return render_to_string("admin/campaigns/progress.html", {"p": obj.progress})

    @admin.display(description="progress")
    def progress(self, obj: Campaign):
        if not obj.pk:
            return "-"
        return render_to_string("admin/campaigns/progress.html",
                                {"p": progress_of(obj), "detail": True, "campaign_id": obj.pk})

    @admin.display(description="cost")
    def costs(self, obj: Campaign):
        if not obj.pk:
            return "-"
        costs = campaign_costs(obj)
        if costs.before_launch:
            return format_html('<span id="campaign-costs">Estimated before launch: <b>{}</b> ({} segment(s) a '
                               "message as written; {} number(s) without a price)</span>",
                               amounts(costs.estimated), costs.segments, costs.unpriced)
        return format_html('<span id="campaign-costs">Estimated: <b>{}</b> · carriers reported: <b>{}</b> '
                           "({} message(s) without an estimate)</span>",
                           amounts(costs.estimated), amounts(costs.actual), costs.unpriced)

    @admin.display(description="results by variant")
    def results(self, obj: Campaign):
        rows = variant_stats(obj) if obj.pk else []
        if not rows:
            return "-"
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (r["label"] or "(body)", r["messages"], r["sent"], r["delivered"], r["failed"], r["clicked"])
            for r in rows))
        return format_html('<table id="variant-results"><tr><th>variant</th><th>messages</th><th>sent</th>'
                           "<th>delivered</th><th>failed</th><th>clicked</th></tr>{}</table>", body)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        csv = form.cleaned_data.get("recipients_csv")
        if csv:
            consent = f"CSV upload, campaign #{obj.pk}, by {request.user}" if form.cleaned_data.get(
                "csv_has_consent") else ""
            result = import_csv(obj, csv[0], consent_source=consent)
            level = messages.WARNING if result.errors or result.duplicates else messages.SUCCESS
            detail = "; ".join(result.errors[:5])
            self.message_user(request, f"CSV: {result.rows} rows, {result.added} recipients added, "
                                       f"{result.duplicates} duplicate numbers skipped, {result.refused} rows "
                                       f"refused. {detail}", level)

    def response_add(self, request, obj, post_url_continue=None):
        self._schedule_if_asked(request, obj)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        self._schedule_if_asked(request, obj)
        return super().response_change(request, obj)

    def _schedule_if_asked(self, request, obj: Campaign) -> None:
        """The "Save and schedule" button: schedule once the form, its tags, groups and CSV are saved."""
        if "_schedule" in request.POST:
            self.schedule(request, [obj])

    def button_view(self, action: str, request, object_id):
        """POST from the "Pause", "Resume" or "Cancel campaign" button: the list action of that name on one."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not super().has_change_permission(request):
            raise PermissionDenied
        campaign = self.get_object(request, object_id)  # None for an unknown or malformed id
        if campaign is None:
            raise Http404("No such campaign.")
        getattr(self, action)(request, [campaign])
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))

    @admin.action(description="Schedule selected campaigns (at their date, or now)", permissions=["change"])
    def schedule(self, request, queryset):
        self._each(request, queryset, campaign_schedule,
                   lambda campaign, _: f"scheduled for {campaign.scheduled_at:%Y-%m-%d %H:%M}.")

    @admin.action(description="Pause selected campaigns (hold their messages not yet sent)", permissions=["change"])
    def pause(self, request, queryset):
        self._each(request, queryset, lambda campaign: campaign_pause(campaign, by=str(request.user)),
                   lambda _, held: f"paused, {held} message(s) held until it is resumed.")

    @admin.action(description="Resume selected paused campaigns", permissions=["change"])
    def resume(self, request, queryset):
        self._each(request, queryset, campaign_resume,
                   lambda _, released: f"resumed, {released} held message(s) going out.")

    def _each(self, request, queryset, act, done) -> None:
        """`act` on each campaign, then one line each: `done(campaign, what act returned)`, or why it refused."""
        for campaign in queryset:
            try:
                result = act(campaign)
            except ValidationError as exc:
                self.message_user(request, f"{campaign}: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"{campaign}: {done(campaign, result)}")

    @admin.action(description="Cancel selected campaigns", permissions=["change"])
    def cancel(self, request, queryset):
        for campaign in queryset:
            if campaign.status == Campaign.Status.CANCELLED:
                self.message_user(request, f"{campaign}: already cancelled.", messages.WARNING)
                continue
            cancelled = campaign_cancel(campaign, reason=f"cancelled by {request.user}")
            self.message_user(request, f"{campaign}: cancelled, {cancelled} pending message(s) stopped.")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["phone", "name", "tenant", "created_at"]
    list_filter = ["tenant", "tags", "groups"]
    search_fields = ["phone", "name"]
    filter_horizontal = ["tags", "groups"]
    actions = ["record_marketing_consent"]

    @admin.action(description="Record marketing consent for the selected contacts", permissions=["change"])
    def record_marketing_consent(self, request, queryset):
        source = f"contacts console, by {request.user}"
        added = 0
        for tenant_id in queryset.values_list("tenant_id", flat=True).distinct():
            phones = list(queryset.filter(tenant_id=tenant_id).values_list("phone", flat=True))
            added += record_marketing_consents(tenant=Tenant.objects.get(pk=tenant_id), phones=phones, source=source)
        self.message_user(request, f"Marketing consent recorded for {added} new number(s).", messages.SUCCESS)


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
