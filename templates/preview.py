"""The live preview of a template's variants: each rendered with sample values, with its encoding and SMS parts.

The admin's template page posts the variants as typed (saved or not) to the staff-only preview view
(templates.admin) as JSON, and shows the answer beside the form as the operator types.
"""

from django.conf import settings
from rest_framework import serializers

from providers.segments import count_segments
from smsgate.api.serializers import JsonInput
from templates.api import TemplateInput
from templates.models import BODY_MAX_LENGTH
from templates.rendering import TemplateError, compile_template
from templates.services import variable_mismatch
from templates.system import SYSTEM_TEMPLATES, unknown_variables_warning

# A tracked link as campaigns write it (PUBLIC_BASE_URL/r/ and a 12-character code): counts like the real one.
SAMPLE_LINK_CODE = "AbCdEfGhIjKl"
MAX_SAMPLE_VALUE = 500


class PreviewVariant(JsonInput):
    label = serializers.CharField(max_length=20, allow_blank=True)
    body = serializers.CharField(max_length=BODY_MAX_LENGTH, allow_blank=True, trim_whitespace=False)


class PreviewInput(JsonInput):
    variants = PreviewVariant(many=True, max_length=TemplateInput.MAX_VARIANTS)
    code = serializers.CharField(max_length=64, required=False, default="", allow_blank=True,
                                 help_text="The template's code as typed: a journey's text is checked against "
                                           "the variables its journey gives.")
    sample = serializers.DictField(child=serializers.CharField(max_length=MAX_SAMPLE_VALUE, allow_blank=True,
                                                               trim_whitespace=False),
                                   required=False, default=dict)

    def validate_sample(self, sample: dict) -> dict:
        if len(sample) > 100:
            raise serializers.ValidationError("At most 100 sample values.")
        return sample


def sample_value(name: str, sample: dict) -> str:
    """The operator's sample for a variable, or a stand-in as long as a typical value."""
    if sample.get(name):
        return sample[name]
    if name == "URL":
        return f"{settings.PUBLIC_BASE_URL or 'https://sms.example.com'}/r/{SAMPLE_LINK_CODE}"
    return name


def preview(variants: list[dict], sample: dict, code: str = "") -> dict:
    """{"variants": [{label, text, encoding, units, segments, variables, error}], "variables", "warning"}."""
    rows, valid, names = [], {}, {}
    for variant in variants:
        row = {"label": variant["label"], "text": "", "encoding": "", "units": 0, "segments": 0, "variables": [],
               "error": ""}
        try:
            compiled = compile_template(variant["body"])
        except TemplateError as exc:
            row["error"] = str(exc)
        else:
            text = compiled.render({name: sample_value(name, sample) for name in compiled.variables})
            info = count_segments(text)
            row.update(text=text, encoding=info.encoding, units=info.units, segments=info.segments,
                       variables=list(compiled.variables))
            valid[variant["label"]] = variant["body"]
            names.update(dict.fromkeys(compiled.variables))
        rows.append(row)
    return {"variants": rows, "variables": list(names), "warning": _warning(code, valid, list(names))}


def _warning(code: str, bodies: dict[str, str], names: list[str]) -> str:
    """Variants that differ in variables (any template), or variables its journey does not give (a journey's)."""
    return unknown_variables_warning(code, names) if code in SYSTEM_TEMPLATES else variable_mismatch(bodies)

