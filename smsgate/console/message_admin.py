"""The message log in the admin: read-only, with what failed and why, and Retry now, Resend and Cancel."""

from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, Subquery
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timeuntil
from django.views.decorators.http import require_POST

from providers.registry import provider_choices
from smsgate.console.admin_filters import DASHBOARD_FILTERS
from smsgate.media import shown_media
from smsgate.models import Message, MessageEvent, Tenant
from smsgate.phones import InvalidPhoneNumber, normalize_phone
from smsgate.sending.submit import (
    HELD_UNTIL,
    NOT_RESENDABLE,
    RETRYABLE,
    ActionRefused,
    cancel_message,
    resend_message,
    retry_message,
)
from smsgate.statuses import PENDING, TERMINAL, Status

STATUS_COLOURS = {"delivered": "#2e7d32", "sent": "#1565c0", "failed": "#c62828", "undelivered": "#c62828",
                  "cancelled": "#6d6d6d", "expired": "#6d6d6d"}  # others (waiting, sending): orange


def status_label(message: Message) -> str:
    """The status in words; a queued message that already failed a try is "Retrying"."""
    if message.status == Status.QUEUED and message.attempts:
        return "Retrying"
    return Status(message.status).label


def last_error(message: Message) -> str:
    """The carrier's last error: its code and text."""
    return " ".join(filter(None, [message.error_code, message.error_message]))


def last_problem(message: Message) -> str:
    """The carrier's last error, else why the message stopped (e.g. recipient opted out)."""
    return last_error(message) or (message.status_reason if message.status in TERMINAL else "")


def phone_search(term: str) -> Q | None:
    """Messages to `term` read as a number in each tenant's own region (07911123422 for a GB tenant)."""
    regions = Tenant.objects.order_by().values_list("default_region", flat=True).distinct()
    query = Q()
    for region in regions:
        try:
            query |= Q(tenant__default_region=region, to=normalize_phone(term, region))
        except InvalidPhoneNumber:
            continue
    return query or None


def short_time(moment) -> str:
    """The time of day if today, else the date and time (local time)."""
    local = timezone.localtime(moment)
    return f"{local:%H:%M:%S}" if local.date() == timezone.localdate() else f"{local:%d %b %Y %H:%M}"


def shortened(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the whole of it on hover."""
    return format_html('<span title="{}">{}</span>', text, text if len(text) <= limit else text[:limit - 1] + "…")


class CreatedSinceFilter(admin.SimpleListFilter):
    """Recent messages (by creation), e.g. the last hour's failures."""

    title = "created"
    parameter_name = "since"
    PERIODS = {"1h": ("last hour", timedelta(hours=1)), "24h": ("last 24 hours", timedelta(days=1)),
               "7d": ("last 7 days", timedelta(days=7))}

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.PERIODS.items()]

    def queryset(self, request, queryset):
        if self.value() in self.PERIODS:
            return queryset.filter(created_at__gte=timezone.now() - self.PERIODS[self.value()][1])
        return queryset


class CarrierFilter(admin.SimpleListFilter):
    """The carrier of the last attempt (Message.provider is set only once a carrier took the message)."""

    title = "carrier (last attempt)"
    parameter_name = "carrier"

    def lookups(self, request, model_admin):
        return provider_choices()

    def queryset(self, request, queryset):
        return queryset.filter(last_carrier=self.value()) if self.value() else queryset


class KindFilter(admin.SimpleListFilter):
    """SMS or MMS (a message with media); MMS are found by a partial index (message_mms_created)."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("sms", "SMS"), ("mms", "MMS (with media)")]

    def queryset(self, request, queryset):
        if self.value() == "mms":
            return queryset.exclude(media_urls=[])
        if self.value() == "sms":
            return queryset.filter(media_urls=[])
        return queryset


class MessageAdmin(admin.ModelAdmin):
    """The message log: read-only; operators act on messages only through Retry now, Resend and Cancel."""

    list_display = ["id", "created", "tenant", "to", "status_badge", "carrier", "attempts_used", "problem",
                    "next_try", "parts", "short_body"]
    list_display_links = ["id", "to"]
    list_filter = [CreatedSinceFilter, "status", CarrierFilter, KindFilter, "message_type", "tenant",
                   *DASHBOARD_FILTERS]
    search_fields = ["to", "provider_message_id", "custom_id", "body", "error_code"]
    search_help_text = "Phone (international, or national in the tenant's region), carrier id, your id, text, code."
    list_select_related = ["tenant"]
    list_per_page = 50
    fieldsets = [("All fields", {"classes": ["collapse"], "fields": [f.name for f in Message._meta.fields]})]
    readonly_fields = [f.name for f in Message._meta.fields]
    actions = ["retry_now", "resend", "cancel"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the log is immutable; see the actions

    def has_delete_permission(self, request, obj=None):
        return False

    def has_operate_permission(self, request) -> bool:
        """Retry, resend and cancel: for operators who could change messages (the log itself stays read-only)."""
        return request.user.has_perm("smsgate.change_message")

    def get_queryset(self, request):
        last_attempt = MessageEvent.objects.filter(message=OuterRef("pk"), kind=MessageEvent.Kind.ATTEMPT)
        return super().get_queryset(request).annotate(
            last_carrier=Subquery(last_attempt.order_by("-created_at", "-id").values("provider")[:1])
        )

    def changelist_view(self, request, extra_context=None):
        # The log's columns need the whole width: no app list beside it (the breadcrumbs lead back).
        return super().changelist_view(request, {"is_nav_sidebar_enabled": False, **(extra_context or {})})

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term and (numbers := phone_search(search_term.strip())):
            results = results | queryset.filter(numbers)
        return results, may_have_duplicates

    @admin.display(description="created", ordering="created_at")
    def created(self, obj: Message) -> str:
        return short_time(obj.created_at)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Message):
        return format_html('<b class="message-status" style="color:{}">{}</b>',
                           STATUS_COLOURS.get(obj.status, "#ef6c00"), status_label(obj))

    @admin.display(description="carrier", ordering="last_carrier")
    def carrier(self, obj: Message) -> str:
        return getattr(obj, "last_carrier", None) or obj.provider or "-"

    @admin.display(description="tries", ordering="attempts")
    def attempts_used(self, obj: Message) -> str:
        return f"{obj.attempts}/{settings.SMS_MAX_ATTEMPTS}"

    @admin.display(description="last error / reason")
    def problem(self, obj: Message) -> str:
        return shortened(last_problem(obj), 48)

    @admin.display(description="next try", ordering="due_at")
    def next_try(self, obj: Message) -> str:
        if obj.status not in PENDING:
            return "-"
        if obj.due_at == HELD_UNTIL:
            return "held until resumed"
        seconds = (obj.due_at - timezone.now()).total_seconds()
        if seconds <= 0:
            return "due now"
        wait = f"{seconds:.0f} s" if seconds < 60 else timeuntil(obj.due_at, depth=1)
        return format_html('<span title="{}" style="white-space:nowrap">in {}</span>', short_time(obj.due_at), wait)

    @admin.display(description="segments", ordering="segments")
    def parts(self, obj: Message) -> str:
        if obj.media_urls:
            return format_html('<span class="mms-badge" title="{} media">MMS ({})</span>', len(obj.media_urls),
                               len(obj.media_urls))
        if not obj.segments_saved:
            return str(obj.segments)
        return format_html('{} <small title="saved by smart encoding">({} saved)</small>', obj.segments,
                           obj.segments_saved)

    @admin.display(description="text")
    def short_body(self, obj: Message) -> str:
        return shortened(obj.body, 32)

    @admin.action(description="Retry now (failed or waiting)", permissions=["operate"])
    def retry_now(self, request, queryset):
        self._apply(request, queryset, "Retried", lambda m: retry_message(m, by=str(request.user)))

    @admin.action(description="Resend as a new message", permissions=["operate"])
    def resend(self, request, queryset):
        self._apply(request, queryset, "Resent", lambda m: resend_message(m, by=str(request.user)))

    @admin.action(description="Cancel (not sent yet)", permissions=["operate"])
    def cancel(self, request, queryset):
        self._apply(request, queryset, "Cancelled", lambda m: cancel_or_refuse(m, by=str(request.user)))

    def _apply(self, request, messages_, verb: str, act) -> None:
        """Run `act` on each message; one line for those done, one per refusal (the first ten)."""
        done, refusals = 0, []
        for message in messages_.select_related("tenant"):
            try:
                act(message)
                done += 1
            except ActionRefused as exc:
                refusals.append(str(exc))
        if done:
            self.message_user(request, f"{verb} {done} message(s).", messages.SUCCESS)
        for refusal in refusals[:10]:
            self.message_user(request, f"Not done: {refusal}.", messages.ERROR)
        if len(refusals) > 10:
            self.message_user(request, f"… and {len(refusals) - 10} more not done.", messages.ERROR)

    def get_urls(self):
        act = {"retry": self.retry_now, "resend": self.resend, "cancel": self.cancel}
        return [
            path(f"<path:object_id>/{name}/", self.admin_site.admin_view(self._one_view(action)),
                 name=f"smsgate_message_{name}")
            for name, action in act.items()
        ] + super().get_urls()

    def _one_view(self, action):
        """A POST-only view applying a list action to one message, then back to its page."""

        @require_POST
        def view(request, object_id):
            if not self.has_operate_permission(request):
                raise PermissionDenied
            message = get_object_or_404(Message, pk=object_id)
            action(request, Message.objects.filter(pk=message.pk))
            return redirect("admin:smsgate_message_change", message.pk)

        return view

    def change_view(self, request, object_id, form_url="", extra_context=None):
        message = get_object_or_404(Message.objects.select_related("tenant"), pk=object_id)
        extra_context = {**(extra_context or {}), **self._summary(request, message)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _summary(self, request, message: Message) -> dict:
        """What the detail page shows before the folded internal fields."""
        events = list(message.events.all())
        attempts = [e for e in events if e.kind == MessageEvent.Kind.ATTEMPT]
        resent_from = message.source_id if message.source_type == "resend" else ""
        return {
            "message_obj": message,
            "status_text": status_label(message),
            "status_colour": STATUS_COLOURS.get(message.status, "#ef6c00"),
            "last_error": last_error(message),
            "carrier": attempts[-1].provider if attempts else (message.provider or "-"),
            "attempts_text": self.attempts_used(message),
            "next_try": self.next_try(message),
            "events": events,
            "mms_media": shown_media(message),  # not "media": the admin's own context has its form media
            "resent_from": resent_from,
            "resends": Message.objects.filter(source_type="resend", source_id=str(message.pk)).values_list("pk",
                                                                                                         flat=True),
            "can_operate": self.has_operate_permission(request),
            "can_retry": message.status in RETRYABLE,
            "can_resend": message.status not in NOT_RESENDABLE,
            "can_cancel": message.status in PENDING,
        }


def cancel_or_refuse(message: Message, *, by: str) -> None:
    if not cancel_message(message, f"cancelled by {by}"):
        raise ActionRefused(f"message #{message.pk} is {message.status}: only a message not sent yet can be cancelled")
