"""GET/POST /api/v1/sms/templates: the tenant's message templates and their variants."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from providers.segments import count_segments
from smsgate.api.serializers import JsonInput
from templates.models import BODY_MAX_LENGTH, MessageTemplate
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


class TemplateInput(JsonInput):
    MAX_VARIANTS = 26  # A to Z: an A/B test of more cannot gather enough sends per variant to tell them apart

    code = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    variants = VariantInput(many=True, allow_empty=False, max_length=MAX_VARIANTS)

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


class TemplateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    is_active = serializers.BooleanField()
    variants = VariantOutput(many=True)
    created_at = serializers.DateTimeField()


class TemplateListCreateApi(APIView):
    @extend_schema(responses=TemplateOutput(many=True))
    def get(self, request):
        templates = MessageTemplate.objects.filter(tenant=request.user.tenant).prefetch_related("variants")
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
