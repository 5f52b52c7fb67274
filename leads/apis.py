"""Leads API: POST /api/v1/leads, GET /api/v1/leads/{id}. One view per operation."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.models import Lead
from leads.selectors import lead_messages
from leads.services import lead_create, lead_next_action
from smsgate.api.serializers import JsonInput, PhoneField
from smsgate.api.source_ip import client_ip, user_agent
from smsgate.api.views import to_validation_error
from smsgate.phones import InvalidPhoneNumber, normalize_phone


class LeadConsentOutput(serializers.Serializer):
    gdpr = serializers.BooleanField(source="consent_gdpr")
    marketing = serializers.BooleanField(source="consent_marketing")
    at = serializers.DateTimeField(source="consent_at")
    ip = serializers.IPAddressField(source="consent_ip", allow_null=True)
    user_agent = serializers.CharField(source="consent_user_agent")


class LeadMessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    message_type = serializers.CharField()
    status = serializers.CharField()
    status_reason = serializers.CharField()
    error_code = serializers.CharField()
    created_at = serializers.DateTimeField()


class LeadOutput(serializers.ModelSerializer):
    consent = LeadConsentOutput(source="*")
    messages = serializers.SerializerMethodField(help_text="The SMS sent for this lead and their current status.")

    class Meta:
        model = Lead
        fields = ["id", "tenant_id", "name", "phone", "email", "channel", "status", "status_reason", "consent",
                  "created_at", "contacted_at", "messages"]

    @extend_schema(responses=LeadMessageOutput(many=True))
    def get_messages(self, lead: Lead) -> list:
        return LeadMessageOutput(lead_messages(lead), many=True).data


@extend_schema_field({"type": "boolean", "enum": [True]})
class GivenConsent(serializers.BooleanField):
    """A consent that must be given: false is refused (validate_gdpr), and the OpenAPI says so."""


class LeadConsentInput(JsonInput):
    gdpr = GivenConsent(help_text="Must be true: consent to store and process the lead's data.")
    marketing = serializers.BooleanField(default=False)
    ip = serializers.IPAddressField(required=False, allow_null=True,
                                    help_text="The person's IP when consenting (default: the caller's).")
    user_agent = serializers.CharField(required=False, allow_blank=True, max_length=1000,
                                       help_text="The person's browser when consenting (default: the caller's).")

    def validate_gdpr(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError("GDPR consent is required to store a lead.")
        return value


class LeadCreateApi(APIView):
    @extend_schema_serializer(component_name="LeadCreateInput")
    class InputSerializer(JsonInput):
        name = serializers.CharField(max_length=200)
        phone = PhoneField()
        email = serializers.EmailField(required=False, allow_blank=True, default="")
        channel = serializers.ChoiceField(choices=Lead.Channel.choices, default=Lead.Channel.SMS)
        consent = LeadConsentInput()

        def validate_phone(self, value: str) -> str:
            """Checked here too, so one response names every bad field."""
            try:
                return normalize_phone(value, self.context["tenant"].default_region)
            except InvalidPhoneNumber as exc:
                raise serializers.ValidationError(str(exc)) from None

    @extend_schema_serializer(component_name="LeadCreateOutput")
    class OutputSerializer(serializers.Serializer):
        lead = LeadOutput()
        next_action = serializers.CharField(help_text="send_sms for SMS leads (sent automatically); "
                                            "send_whatsapp, send_email or call for the others.")

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data, context={"tenant": request.user.tenant})
        data.is_valid(raise_exception=True)
        consent = data.validated_data.pop("consent")
        try:
            lead = lead_create(
                tenant=request.user.tenant,
                **data.validated_data,
                consent_gdpr=consent["gdpr"],
                consent_marketing=consent["marketing"],
                consent_ip=consent.get("ip") or client_ip(request),
                consent_user_agent=consent.get("user_agent") or user_agent(request),
            )
        except DjangoValidationError as exc:
            raise to_validation_error(exc) from None
        output = self.OutputSerializer({"lead": lead, "next_action": lead_next_action(lead)})
        return Response(output.data, status=status.HTTP_201_CREATED)


class LeadDetailApi(APIView):
    @extend_schema(responses=LeadOutput)
    def get(self, request, pk: int):
        lead = get_object_or_404(Lead, pk=pk, tenant=request.user.tenant)
        return Response(LeadOutput(lead).data)
