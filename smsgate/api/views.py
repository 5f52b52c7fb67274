"""REST API of the core: send, logs. One view per operation."""

from datetime import datetime, time

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from smsgate.api.serializers import LogQuery, MessageDetailOutput, MessageOutput, SendSmsInput
from smsgate.models import Message
from smsgate.services import IdempotencyConflict, send_sms


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Repeat a request safely: the same key returns the first request's message.",
)


def client_ip(request) -> str | None:
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")


def to_validation_error(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


class SmsSendApi(APIView):
    @extend_schema(request=SendSmsInput, responses={202: MessageOutput}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        data = SendSmsInput(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key") or None
        if key and len(key) > 255:
            raise serializers.ValidationError({"Idempotency-Key": ["At most 255 characters."]})
        try:
            message = send_sms(
                tenant=request.user.tenant,
                to=data.validated_data["phone"],
                body=data.validated_data.get("message", ""),
                template_code=data.validated_data.get("template_code", ""),
                template_data=data.validated_data["template_data"],
                message_type=data.validated_data["message_type"],
                send_at=data.validated_data.get("send_at"),
                custom_id=data.validated_data["custom_id"],
                idempotency_key=key,
                source_type="api",
                request_ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
            )
        except IdempotencyConflict:
            raise Conflict("This Idempotency-Key was already used for a different request.") from None
        except DjangoValidationError as exc:
            raise to_validation_error(exc) from None
        headers = {"Idempotent-Replayed": "true"} if message.replayed else {}
        return Response(MessageOutput(message).data, status=status.HTTP_202_ACCEPTED, headers=headers)


@extend_schema(parameters=[LogQuery])
class SmsLogListApi(ListAPIView):
    serializer_class = MessageOutput

    def get_queryset(self):
        query = LogQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        messages = Message.objects.filter(tenant=self.request.user.tenant).select_related("variant")
        if "start_date" in filters:
            messages = messages.filter(created_at__gte=_day_start(filters["start_date"]))
        if "end_date" in filters:
            messages = messages.filter(created_at__lt=_day_start(filters["end_date"]) + timezone.timedelta(days=1))
        if "status" in filters:
            messages = messages.filter(status=filters["status"])
        if "phone" in filters:
            messages = messages.filter(to=filters["phone"])
        return messages


class SmsLogDetailApi(APIView):
    @extend_schema(responses=MessageDetailOutput)
    def get(self, request, pk: int):
        messages = Message.objects.select_related("variant").prefetch_related("events")
        message = get_object_or_404(messages, pk=pk, tenant=request.user.tenant)
        return Response(MessageDetailOutput(message).data)


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
