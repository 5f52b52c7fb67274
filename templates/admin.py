"""Template editing: a live preview of each variant, a warning when variants use different variables, and the
results of each variant across every send."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from providers.segments import GSM7_BASIC, GSM7_EXTENSION, count_segments
from templates import ab
from templates.models import MessageTemplate, TemplateVariant
from templates.preview import PreviewInput, preview
from templates.rendering import TemplateError, variables
from templates.services import variable_mismatch
from templates.system import SYSTEM_TEMPLATES, unknown_variables_warning


def non_gsm_characters(body: str) -> list[str]:
    """The characters that force UCS-2 (each costs half an SMS part's capacity)."""
    return sorted({c for c in body if c not in GSM7_BASIC and c not in GSM7_EXTENSION})


def describe_length(body: str) -> str:
    info = count_segments(body)
    text = f"{info.units} {'characters' if info.encoding == 'ucs2' else 'septets'}: {info.segments} SMS part(s)"
    if info.encoding == "ucs2":
        shown = " ".join(repr(c) for c in non_gsm_characters(body)[:10])
        text += f" — UCS-2 because of {shown}: 70 characters per SMS instead of 160"
    return text


def saved_mismatch(template: MessageTemplate) -> str:
    try:
        return variable_mismatch({v.label: v.body for v in template.variants.all()})
    except TemplateError:  # a body saved before bodies were checked: its own row says what is wrong
        return ""


def variables_warning(template: MessageTemplate) -> str:
    """A journey's text may differ between variants (the journey gives every variable it knows); any other
    template is warned when its variants use different variables."""
    return journey_warning(template) if template.code in SYSTEM_TEMPLATES else saved_mismatch(template)


def journey_warning(template: MessageTemplate) -> str:
    """For a journey's text (templates.system): the variables it uses that the journey does not give."""
    names = []
    for variant in template.variants.filter(weight__gt=0):
        try:
            names += [n for n in variables(variant.body) if n not in names]
        except TemplateError:
            continue
    return unknown_variables_warning(template.code, names)


class TemplateVariantInline(admin.TabularInline):
    model = TemplateVariant
    extra = 1
    fields = ["label", "body", "weight", "length"]
    # Narrow label and weight boxes: the row fits a 1366 px screen beside the admin's menu.
    formfield_overrides = {
        models.CharField: {"widget": forms.TextInput(attrs={"size": 6})},
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 60})},
        models.PositiveIntegerField: {"widget": forms.NumberInput(attrs={"style": "width: 6em"})},
    }
    readonly_fields = ["length"]

    @admin.display(description="length (before variables)")
    def length(self, obj: TemplateVariant):
        if not obj.pk:
            return "-"
        info = count_segments(obj.body)
        colour = "#c62828" if info.encoding == "ucs2" else "#2e7d32"
        return format_html('<span style="color:{}">{}</span>', colour, describe_length(obj.body))


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    # Enter in a field submits through the form's first submit button: with the save row on top that is Save,
    # not the A/B test's "Evaluate now" further down (which would discard the edits).
    save_on_top = True
    list_display = ["code", "name", "tenant", "is_active", "variant_count", "ab_summary", "updated_at"]
    list_filter = ["tenant", "is_active", "ab_mode"]
    search_fields = ["code", "name", "variants__body"]
    readonly_fields = ["variables_check", "results", "ab_test"]
    fieldsets = [
        (None, {"fields": ["tenant", "code", "name", "is_active", "variables_check", "results"]}),
        ("A/B test", {"fields": ["ab_mode", "ab_goal", "ab_min_sample", "ab_confidence", "ab_test"],
                      "description": "In automatic mode, once every variant that can be chosen has the minimum "
                                     "sample and one converts better than every other at the confidence asked "
                                     "(a two-proportion z-test, Bonferroni-corrected), every new recipient gets "
                                     "it. Evaluated every 5 minutes, or now with the button below."}),
    ]
    inlines = [TemplateVariantInline]
    actions = ["evaluate_now", "reset_test"]

    def get_urls(self):
        preview_url = path("preview/", self.admin_site.admin_view(self.preview_view),
                           name="templates_messagetemplate_preview")
        ab_url = path("<int:object_id>/ab/<str:step>/", self.admin_site.admin_view(self.ab_view),
                      name="templates_messagetemplate_ab")
        return [preview_url, ab_url, *super().get_urls()]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("winner")

    @admin.display(description="A/B test")
    def ab_summary(self, obj: MessageTemplate) -> str:
        if obj.ab_mode != MessageTemplate.AbMode.AUTO:
            return "fixed weights"
        if obj.winner_id:
            chosen = timezone.localtime(obj.winner_chosen_at)
            return f"winner {obj.winner.label} ({obj.winner_confidence:.1f} %, {chosen:%Y-%m-%d %H:%M})"
        return "testing"

    @admin.display(description="test")
    def ab_test(self, obj: MessageTemplate):
        """Per variant since the test started: sent, delivered, conversions, rate; the state; the buttons."""
        if not obj.pk:
            return "-"
        rows = ab.results(obj)
        current = ab.state(obj, rows)
        body = format_html_join("", '<tr data-variant="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
                                    "<td>{} %</td><td>{} – {} %</td></tr>", (
            (r.label, r.label, r.weight, r.sent, r.delivered, r.conversions, f"{r.rate:.1f}",
             f"{r.interval[0]:.1f}", f"{r.interval[1]:.1f}") for r in rows))
        started = (f"messages written since the reset of {timezone.localtime(obj.ab_started_at):%Y-%m-%d %H:%M}"
                   if obj.ab_started_at else "every message")
        return format_html(
            '<p id="ab-state" data-state="{}"><strong>{}</strong></p>'
            '<table id="ab-results"><tr><th>variant</th><th>weight</th><th>sent</th><th>delivered</th>'
            "<th>conversions</th><th>rate (of sent)</th><th>95 % interval</th></tr>{}</table>"
            '<p style="font-size:smaller">Conversions: {}, of {}. {}</p><p>{}</p>',
            current.code, current.text, body, obj.get_ab_goal_display(), started, _decision_note(obj),
            self._ab_buttons(obj))

    def _ab_buttons(self, obj: MessageTemplate):
        """Buttons that post the change form's CSRF token to the test's own URLs (a form cannot nest)."""
        return format_html_join(" ", '<button type="submit" class="button" id="ab-{}" formmethod="post" '
                                     'formaction="{}" formnovalidate>{}</button>', (
            (step, reverse("admin:templates_messagetemplate_ab", args=[obj.pk, step]), text)
            for step, text in [("evaluate", "Evaluate now"), ("reset", "Reset the test")]))

    def ab_view(self, request, object_id: int, step: str):
        """POST evaluate | reset for one template: what the list's actions do, from its own page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        template = get_object_or_404(self.get_queryset(request), pk=object_id)
        if step not in ("evaluate", "reset") or not self.has_change_permission(request, template):
            raise PermissionDenied
        if step == "evaluate":
            self._evaluate(request, [template.pk])
        else:
            self._reset(request, [template.pk])
        return HttpResponseRedirect(reverse("admin:templates_messagetemplate_change", args=[template.pk]))

    @admin.action(description="Evaluate the A/B test now", permissions=["change"])
    def evaluate_now(self, request, queryset):
        self._evaluate(request, list(queryset.values_list("pk", flat=True)))

    @admin.action(description="Reset the A/B test (forget the winner, weights apply, count from now)",
                  permissions=["change"])
    def reset_test(self, request, queryset):
        self._reset(request, list(queryset.values_list("pk", flat=True)))

    def _evaluate(self, request, pks: list[int]) -> None:
        for pk in pks:
            evaluation = ab.evaluate(pk)
            code = MessageTemplate.objects.filter(pk=pk).values_list("code", flat=True).get()
            level = messages.SUCCESS if evaluation.chosen else messages.INFO
            messages.add_message(request, level, f"{code}: {evaluation.state.text}.")

    def _reset(self, request, pks: list[int]) -> None:
        for pk in pks:
            ab.reset(pk)
        messages.success(request, f"{len(pks)} A/B test(s) reset: weights apply, messages from now on count.")

    @admin.display(description="variants")
    def variant_count(self, obj: MessageTemplate) -> int:
        return obj.variants.count()

    @admin.display(description="variables")
    def variables_check(self, obj: MessageTemplate):
        system = SYSTEM_TEMPLATES.get(obj.code) if obj.pk else None
        given = format_html('<p id="journey-variables">Sent by a journey, which gives {}.</p>',
                            ", ".join(f"{{{name}}}" for name in system.sample)) if system else ""
        warning = variables_warning(obj) if obj.pk else ""
        if not warning:
            return format_html("{}{}", given, "The variants use the same variables." if obj.pk else "-")
        return format_html('{}<span id="variables-warning" style="color:#c62828">{}</span>', given, warning)

    @admin.display(description="results by variant (every send)")
    def results(self, obj: MessageTemplate):
        if not obj.pk:
            return "-"
        rows = [(row["label"], row) for row in ab.every_send(obj)]
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ({}%)</td><td>{}</td>"
                                    "<td>{} ({}%)</td></tr>", (
            (label, r["messages"], r["sent"], r["delivered"], percent(r["delivered"], r["sent"]), r["failed"],
             r["clicked"], percent(r["clicked"], r["sent"])) for label, r in rows))
        return format_html('<table id="variant-results"><tr><th>variant</th><th>messages</th><th>sent</th>'
                           "<th>delivered (of sent)</th><th>failed</th><th>clicked (of sent)</th></tr>{}</table>",
                           body)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        for variant in form.instance.variants.all():
            if count_segments(variant.body).encoding == "ucs2":
                messages.warning(request, f"Variant {variant.label}: {describe_length(variant.body)}.")
        warning = variables_warning(form.instance)
        if warning:
            messages.warning(request, warning)
        if change and form.instance.winner_id and "ab_goal" in form.changed_data:
            messages.warning(request, f"The winner {form.instance.winner.label} was chosen for another goal: reset "
                                      "the test to choose again for this one.")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A journey's text (templates.system) previews with realistic values of the variables it is given."""
        template = self.get_object(request, object_id)
        system = SYSTEM_TEMPLATES.get(template.code) if template else None
        extra_context = {**(extra_context or {}), "preview_samples": system.sample if system else {}}
        return super().change_view(request, object_id, form_url, extra_context=extra_context)

    def preview_view(self, request):
        """POST {variants: [{label, body}], sample: {name: value}} → each variant rendered, encoding, parts."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested past the decoder's reach
            return JsonResponse({"detail": "The body must be JSON."}, status=400)
        data = PreviewInput(data=payload)
        if not data.is_valid():
            return JsonResponse(data.errors, status=400)
        return JsonResponse(preview(**data.validated_data))


def _decision_note(obj: MessageTemplate) -> str:
    """The rates the winner was chosen on, as they were at that moment."""
    if not obj.winner_rates:
        return ""
    rates = ", ".join(f"{label} {row['conversions']}/{row['sent']} = {row['rate']:.1f} %"
                      for label, row in sorted(obj.winner_rates.items()))
    return f"At the decision: {rates}."


def percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0
