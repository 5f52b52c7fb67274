"""REST API of the core: send, logs. One view per operation."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from providers.registry import chain_for, provider_choices
from smsgate.api.serializers import (
    BulkSmsInput,
    BulkSmsOutput,
    LogQuery,
    MediaUploadInput,
    MediaUploadOutput,
    MessageDetailOutput,
    MessageOutput,
    PeriodQuery,
    PriceQuery,
    PricesOutput,
    SendSmsInput,
)
from smsgate.api.source_ip import request_meta
from smsgate.console.balances import provider_balances
from smsgate.console.periods import day_end, day_start, period
from smsgate.console.stats import message_stats
from smsgate.media import signed_url, store_upload
from smsgate.models import Message
from smsgate.phones import validated_phone
from smsgate.pricing import effective_prices, route_prices
from smsgate.sending.submit import IdempotencyConflict, SmsRequest, SubmitResult, submit


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", {"type": "string", "maxLength": 255}, OpenApiParameter.HEADER, required=False,
    description="Repeat a request safely: the same key returns the first request's message.",
)


def to_validation_error(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


class SmsSendApi(APIView):
    @extend_schema(request=SendSmsInput, responses={202: MessageOutput}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        data = SendSmsInput(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key") or None
        if key and (len(key) > 255 or "\x00" in key):
            raise serializers.ValidationError({"Idempotency-Key": ["At most 255 characters, and no NUL."]})
        values = data.validated_data
        request_sms = SmsRequest(to=values["phone"], body=values.get("message", ""),
                                 template_code=values.get("template_code", ""), template_data=values["template_data"],
                                 custom_id=values["custom_id"], media_urls=values["media_urls"])
        try:
            message = submit(request.user.tenant, [request_sms], message_type=values["message_type"],
                             send_at=values.get("send_at"), source_type="api", idempotency_key=key,
                             meta=request_meta(request), smart_encoding=values["smart_encoding"]).one()
        except IdempotencyConflict:
            raise Conflict("This Idempotency-Key was already used for a different request.") from None
        except DjangoValidationError as exc:
            raise to_validation_error(exc) from None
        headers = {"Idempotent-Replayed": "true"} if message.replayed else {}
        return Response(MessageOutput(message).data, status=status.HTTP_202_ACCEPTED, headers=headers)


class SmsBulkApi(APIView):
    """Many SMS in one request (up to 1000), all or nothing: one bad entry fails the request.

    The same text to the same number twice in one request is refused (naming both entries): it is
    a client's loop gone wrong far more often than intended, and each copy is charged and received.
    """

    @extend_schema(request=BulkSmsInput, responses={202: BulkSmsOutput})
    def post(self, request):
        data = BulkSmsInput(data=request.data)
        data.is_valid(raise_exception=True)
        media = data.validated_data["media_urls"]
        requests = [
            SmsRequest(to=entry["phone"], body=entry.get("message", ""), template_code=entry.get("template_code", ""),
                       template_data=entry["template_data"], custom_id=entry["custom_id"],
                       smart_encoding=entry["smart_encoding"],
                       media_urls=media if entry["media_urls"] is None else entry["media_urls"])
            for entry in data.validated_data["messages"]
        ]
        with transaction.atomic():
            result = submit(request.user.tenant, requests, message_type=data.validated_data["message_type"],
                            send_at=data.validated_data.get("send_at"), source_type="api",
                            meta=request_meta(request), smart_encoding=data.validated_data["smart_encoding"])
            errors = {**_repeats(requests, result), **result.errors}
            if errors:
                transaction.set_rollback(True)
                raise serializers.ValidationError({"messages": dict(sorted(errors.items()))})
        output = BulkSmsOutput({"count": len(result.ids), "ids": result.ids, "segments_saved": result.segments_saved})
        return Response(output.data, status=status.HTTP_202_ACCEPTED)


def _repeats(requests: list[SmsRequest], result: SubmitResult) -> dict[int, dict]:
    """The entries that repeat an earlier entry's number and text, each naming the first."""
    first_index, repeats = {}, {}
    for index, (request, phone) in enumerate(zip(requests, result.phones, strict=True)):
        if phone is None:
            continue
        key = (phone, request.body, request.template_code, repr(request.template_data), tuple(request.media_urls))
        first = first_index.setdefault(key, index)
        if first != index:
            repeats[index] = {"phone": [f"Same number and text as message {first}: send it once."]}
    return repeats


class MediaUploadApi(APIView):
    """Upload an image for MMS: the answer's `url` (signed, no credentials needed) goes in `media_urls`.

    The content type is judged from the file's bytes (JPEG, PNG, GIF), never from its name or declared type.
    """

    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": MediaUploadInput}, responses={201: MediaUploadOutput})
    def post(self, request):
        data = MediaUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            media = store_upload(request.user.tenant, data.validated_data["file"])
        except DjangoValidationError as exc:
            raise to_validation_error(exc) from None
        signed = signed_url(media, base_url=request.build_absolute_uri("/"))
        output = MediaUploadOutput({"id": media.pk, "url": signed.url, "expires_at": signed.expires_at,
                                    "content_type": media.content_type, "size": media.size})
        return Response(output.data, status=status.HTTP_201_CREATED)


class SmsStatsApi(APIView):
    """Totals, by status and per provider (success rate, delivery rate, cost) for a period (default 30 days)."""

    @extend_schema(parameters=[PeriodQuery], responses={200: None})
    def get(self, request):
        query = PeriodQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, until = period(query.validated_data.get("start_date"), query.validated_data.get("end_date"))
        return Response(message_stats(request.user.tenant, since, until))


class SmsBalanceApi(APIView):
    """The balance of each provider in the tenant's chain (or ?provider=NAME), of its own accounts only."""

    class InputSerializer(serializers.Serializer):
        provider = serializers.ChoiceField(choices=provider_choices(), required=False)

    @extend_schema(parameters=[InputSerializer], responses={200: None})
    def get(self, request):
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        name = query.validated_data.get("provider")
        return Response({"balances": provider_balances(request.user.tenant, [name] if name else None)})


class SmsPricesApi(APIView):
    """The carrier prices that apply to the tenant (its own, and the platform's it does not replace), per segment.

    Read-only: operators keep the price list in the console. With ?phone=, also the order in which the
    tenant's carriers would be tried for that number (its routing: in order, or cheapest first).
    """

    @extend_schema(parameters=[PriceQuery], responses={200: PricesOutput})
    def get(self, request):
        query = PriceQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        tenant = request.user.tenant
        prices = effective_prices(tenant)
        if provider := query.validated_data.get("provider"):
            prices = [row for row in prices if row["provider"] == provider]
        answer = {"routing": tenant.routing, "chain": chain_for(tenant), "prices": prices}
        if "phone" in query.validated_data:
            try:
                answer["phone"] = validated_phone(query.validated_data["phone"], tenant.default_region)
            except DjangoValidationError as exc:
                raise to_validation_error(exc) from None
            answer["route"] = route_prices(tenant, answer["phone"])
        return Response(PricesOutput(answer).data)


@extend_schema(parameters=[LogQuery])
class SmsLogListApi(ListAPIView):
    serializer_class = MessageOutput

    def get_queryset(self):
        query = LogQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        messages = Message.objects.filter(tenant=self.request.user.tenant).select_related("variant")
        if "start_date" in filters:
            messages = messages.filter(created_at__gte=day_start(filters["start_date"]))
        if "end_date" in filters:
            messages = messages.filter(created_at__lt=day_end(filters["end_date"]))
        if "status" in filters:
            messages = messages.filter(status=filters["status"])
        if "phone" in filters:
            messages = messages.filter(to=filters["phone"])
        if filters.get("kind") == "mms":
            messages = messages.exclude(media_urls=[])
        elif filters.get("kind") == "sms":
            messages = messages.filter(media_urls=[])
        return messages


class SmsLogDetailApi(APIView):
    @extend_schema(responses=MessageDetailOutput)
    def get(self, request, pk: int):
        messages = Message.objects.select_related("variant").prefetch_related("events")
        message = get_object_or_404(messages, pk=pk, tenant=request.user.tenant)
        return Response(MessageDetailOutput(message).data)
