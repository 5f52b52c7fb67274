"""Template editing with the segment count and a UCS-2 warning beside each variant."""

from django.contrib import admin, messages
from django.utils.html import format_html

from smsgate.segments import GSM7_BASIC, GSM7_EXTENSION, count_segments
from templates.models import MessageTemplate, TemplateVariant


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


class TemplateVariantInline(admin.TabularInline):
    model = TemplateVariant
    extra = 1
    fields = ["label", "body", "weight", "length"]
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
    list_display = ["code", "name", "tenant", "is_active", "variant_count", "updated_at"]
    list_filter = ["tenant", "is_active"]
    search_fields = ["code", "name", "variants__body"]
    inlines = [TemplateVariantInline]

    @admin.display(description="variants")
    def variant_count(self, obj: MessageTemplate) -> int:
        return obj.variants.count()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        for variant in form.instance.variants.all():
            if count_segments(variant.body).encoding == "ucs2":
                messages.warning(request, f"Variant {variant.label}: {describe_length(variant.body)}.")
