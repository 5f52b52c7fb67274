"""GET/POST /api/v1/sms/templates: the tenant's message templates and their variants."""

import math

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from providers.segments import count_segments
from smsgate.api.serializers import JsonInput
from templates import ab
from templates.models import BODY_MAX_LENGTH, MAX_CONFIDENCE, MAX_MIN_SAMPLE, MIN_CONFIDENCE, MessageTemplate
from templates.rendering import TemplateError, variables
from templates.services import template_create


class VariantInput(JsonInput):
    label = serializers.CharField(max_length=20, default="A")
    body = serializers.CharField(max_length=BODY_MAX_LENGTH)
    weight = serializers.IntegerField(min_value=0, max_value=10000, default=1)

    def validate_body(self, body: str) -> str:
        try:
            variables(body)
        except TemplateError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return body


class AbTestInput(JsonInput):
    mode = serializers.ChoiceField(choices=MessageTemplate.AbMode.choices, default=MessageTemplate.AbMode.FIXED)
    goal = serializers.ChoiceField(choices=MessageTemplate.AbGoal.choices, default=MessageTemplate.AbGoal.CLICKS)
    min_sample = serializers.IntegerField(min_value=1, max_value=MAX_MIN_SAMPLE, default=100,
                                          help_text="Messages sent per variant before deciding.")
    confidence = serializers.FloatField(min_value=MIN_CONFIDENCE, max_value=MAX_CONFIDENCE, default=95.0,
                                        help_text="In %: how sure the winner must be better than every other.")

    def to_internal_value(self, data):
        confidence = data.get("confidence") if isinstance(data, dict) else None
        if confidence is not None and (isinstance(confidence, bool) or not isinstance(confidence, int | float)
                                       or not math.isfinite(confidence)):
            raise serializers.ValidationError({"confidence": ["Must be a number."]})
        return super().to_internal_value(data)


class TemplateInput(JsonInput):
    MAX_VARIANTS = 26  # A to Z: an A/B test of more cannot gather enough sends per variant to tell them apart

    code = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    variants = VariantInput(many=True, allow_empty=False, max_length=MAX_VARIANTS)
    ab_test = AbTestInput(required=False, help_text="Optional: fixed weights unless mode is auto.")

    def validate_variants(self, variants):
        labels = [v["label"] for v in variants]
        if len(set(labels)) != len(labels):
            raise serializers.ValidationError("Variant labels must be unique.")
        if not any(v["weight"] > 0 for v in variants):
            raise serializers.ValidationError("At least one variant needs a weight above 0.")
        return variants


class VariantOutput(serializers.Serializer):
    label = serializers.CharField()
    body = serializers.CharField()
    weight = serializers.IntegerField()
    variables = serializers.SerializerMethodField()
    encoding = serializers.SerializerMethodField()
    segments = serializers.SerializerMethodField(help_text="Segments of the text before variables are filled.")

    def get_variables(self, variant) -> list[str]:
        return variables(variant.body)

    def get_encoding(self, variant) -> str:
        return count_segments(variant.body).encoding

    def get_segments(self, variant) -> int:
        return count_segments(variant.body).segments


class VariantResultOutput(serializers.Serializer):
    label = serializers.CharField()
    sent = serializers.IntegerField(help_text="Accepted by a carrier and not reported undelivered.")
    delivered = serializers.IntegerField()
    conversions = serializers.IntegerField()
    rate = serializers.FloatField(help_text="Conversions of sent, in %.")
    interval = serializers.ListField(child=serializers.FloatField(), help_text="95 % Wilson interval, in %.")


class AbTestOutput(serializers.Serializer):
    mode = serializers.CharField()
    goal = serializers.CharField()
    min_sample = serializers.IntegerField()
    confidence = serializers.FloatField(help_text="Asked, in %.")
    started_at = serializers.DateTimeField(allow_null=True, help_text="Messages since then count; null: all.")
    state = serializers.ChoiceField(choices=["fixed", "single", "no_goal", "collecting", "undecided", "winner"])
    state_text = serializers.CharField()
    confidence_now = serializers.FloatField(allow_null=True, help_text="Reached by the best variant now, in %.")
    winner = serializers.CharField(allow_null=True, help_text="The winner's label, once chosen.")
    winner_chosen_at = serializers.DateTimeField(allow_null=True)
    winner_confidence = serializers.FloatField(allow_null=True, help_text="Reached when it was chosen, in %.")
    winner_rates = serializers.DictField(help_text="Per label at the decision: sent, conversions, rate.")
    results = VariantResultOutput(many=True, help_text="Per variant, in automatic mode only (else empty).")


def ab_test_output(template: MessageTemplate) -> dict:
    """The test's settings and state; its per-variant results only in automatic mode (two aggregate queries over
    the template's messages each: a listing of many fixed-weight templates must not pay them)."""
    automatic = template.ab_mode == MessageTemplate.AbMode.AUTO
    rows = ab.results(template) if automatic else []
    current = ab.state(template, rows)
    return {
        "mode": template.ab_mode, "goal": template.ab_goal, "min_sample": template.ab_min_sample,
        "confidence": template.ab_confidence, "started_at": template.ab_started_at, "state": current.code,
        "state_text": current.text, "confidence_now": current.confidence,
        "winner": template.winner.label if template.winner_id else None,
        "winner_chosen_at": template.winner_chosen_at, "winner_confidence": template.winner_confidence,
        "winner_rates": template.winner_rates,
        "results": [{"label": r.label, "sent": r.sent, "delivered": r.delivered, "conversions": r.conversions,
                     "rate": round(r.rate, 2), "interval": [round(x, 2) for x in r.interval]} for r in rows],
    }


class TemplateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    is_active = serializers.BooleanField()
    variants = VariantOutput(many=True)
    ab_test = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(AbTestOutput)
    def get_ab_test(self, template) -> dict:
        return ab_test_output(template)


class TemplateListCreateApi(APIView):
    @extend_schema(responses=TemplateOutput(many=True))
    def get(self, request):
        templates = (MessageTemplate.objects.filter(tenant=request.user.tenant).select_related("winner")
                     .prefetch_related("variants"))
        return Response(TemplateOutput(templates, many=True).data)

    @extend_schema(request=TemplateInput, responses={201: TemplateOutput})
    def post(self, request):
        data = TemplateInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            template = template_create(tenant=request.user.tenant, **data.validated_data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return Response(TemplateOutput(template).data, status=status.HTTP_201_CREATED)
