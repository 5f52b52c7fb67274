from django.conf import settings
from rest_framework import serializers

from smsgate.models import Message, MessageEvent, MessageType


class SendSmsInput(serializers.Serializer):
    phone = serializers.CharField(max_length=32)
    message = serializers.CharField(max_length=settings.SMS_MAX_BODY_CHARS, required=False)
    template_code = serializers.SlugField(max_length=64, required=False)
    template_data = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=1000),
                                          required=False, default=dict)
    message_type = serializers.ChoiceField(choices=MessageType.choices, default=MessageType.TRANSACTIONAL)
    send_at = serializers.DateTimeField(required=False, allow_null=True)
    custom_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if ("message" in attrs) == ("template_code" in attrs):
            raise serializers.ValidationError({"message": ["Send either message or template_code, not both."]})
        return attrs


class BulkSmsInput(serializers.Serializer):
    MAX_MESSAGES = 1000

    messages = serializers.ListField(child=serializers.DictField(), allow_empty=False, max_length=MAX_MESSAGES)
    message_type = serializers.ChoiceField(choices=MessageType.choices, default=MessageType.TRANSACTIONAL)
    send_at = serializers.DateTimeField(required=False, allow_null=True)


class BulkItemInput(SendSmsInput):
    """One entry of a bulk request: like a single send, without its own type or time."""

    message_type = None
    send_at = None


class MessageOutput(serializers.ModelSerializer):
    status_code = serializers.IntegerField(read_only=True, help_text="Legacy code: 0 pending, 1 delivered, "
                                           "2 sent, 3 in progress, 4 failed, 5 expired.")
    variant_label = serializers.CharField(source="variant.label", default=None, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id", "to", "body", "status", "status_code", "status_reason", "message_type", "encoding", "segments",
            "send_at", "custom_id", "variant_label", "provider", "provider_message_id", "price", "price_unit",
            "error_code", "error_message", "attempts", "created_at", "sent_at", "delivered_at",
        ]


class MessageEventOutput(serializers.ModelSerializer):
    class Meta:
        model = MessageEvent
        fields = ["kind", "provider", "status", "ok", "error_code", "error_message", "duration_ms", "created_at"]


class MessageDetailOutput(MessageOutput):
    events = MessageEventOutput(many=True, read_only=True)

    class Meta(MessageOutput.Meta):
        fields = [*MessageOutput.Meta.fields, "events"]


class LogQuery(serializers.Serializer):
    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)
    status = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)

    def validate(self, attrs):
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and start > end:
            raise serializers.ValidationError({"end_date": ["end_date must not be before start_date."]})
        return attrs
