"""Operators' API for payment recovery: events, SMS logs, test SMS, funnel. Scoped to the API key's tenant."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from smsgate.api.source_ip import request_meta
from smsgate.api.views import to_validation_error
from smsgate.models import Message
from webhooks.models import WebhookEvent
from webhooks.selectors import recovery_funnel
from webhooks.serializers import (
    EventQuery,
    RecoveryFunnelOutput,
    SmsLogOutput,
    TestSmsInput,
    WebhookEventDetailOutput,
    WebhookEventOutput,
)
from webhooks.services import RECOVERY_SOURCE, TEST_SOURCE, send_test_sms


@extend_schema(parameters=[EventQuery])
class WebhookEventListApi(ListAPIView):
    serializer_class = WebhookEventOutput

    def get_queryset(self):
        query = EventQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return WebhookEvent.objects.filter(tenant=self.request.user.tenant, **query.validated_data)


class WebhookEventDetailApi(RetrieveAPIView):
    serializer_class = WebhookEventDetailOutput

    def get_queryset(self):
        return WebhookEvent.objects.filter(tenant=self.request.user.tenant).select_related(
            "payment__recovery_message"
        )


class RecoverySmsLogApi(ListAPIView):
    """Recovery SMS and test SMS, newest first."""

    serializer_class = SmsLogOutput

    def get_queryset(self):
        return Message.objects.filter(tenant=self.request.user.tenant, source_type__in=[RECOVERY_SOURCE, TEST_SOURCE])


class TestSmsApi(APIView):
    @extend_schema(request=TestSmsInput, responses={202: SmsLogOutput})
    def post(self, request):
        data = TestSmsInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            message = send_test_sms(
                tenant=request.user.tenant, phone=data.validated_data["phone_number"],
                body=data.validated_data["message"], meta=request_meta(request),
                media_urls=data.validated_data["media_urls"],
            )
        except DjangoValidationError as exc:
            raise _with_input_names(to_validation_error(exc)) from None
        return Response(SmsLogOutput(message).data, status=status.HTTP_202_ACCEPTED)


class RecoveryStatsApi(APIView):
    @extend_schema(responses=RecoveryFunnelOutput)
    def get(self, request):
        return Response(RecoveryFunnelOutput(recovery_funnel(request.user.tenant)).data)



def _with_input_names(error: ValidationError) -> ValidationError:
    """The core names the number `phone`; this endpoint's input calls it `phone_number`."""
    if isinstance(error.detail, dict) and "phone" in error.detail:
        error.detail["phone_number"] = error.detail.pop("phone")
    return error
