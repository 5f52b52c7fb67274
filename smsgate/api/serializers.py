from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from smsgate.models import Message, MessageEvent, MessageType
from smsgate.periods import supported_day
from smsgate.phones import NOT_WRITTEN_AS_A_NUMBER, PHONE_PATTERN

# A send_at further back than this is a client bug (a stale retry, a wrong year), not "send now".
SEND_AT_MAX_PAST = timedelta(days=7)


class PhoneField(serializers.RegexField):
    """A phone number as written by people; the core checks it is a real number (see smsgate.phones)."""

    def __init__(self, **kwargs):
        super().__init__(PHONE_PATTERN, max_length=32, help_text=(
            "The recipient: E.164 (+5511987654321) or a national number of the tenant's region. "
            "Digits, one leading +, spaces, dots, dashes, brackets; no extension or tel: prefix."), **kwargs)
        self.error_messages["invalid"] = NOT_WRITTEN_AS_A_NUMBER


class SendAtField(serializers.DateTimeField):
    """When to send: at most SMS_MAX_SCHEDULE_DAYS ahead; a past time (up to SEND_AT_MAX_PAST back) means now."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, help_text=(
            f"Schedule the message: at most SMS_MAX_SCHEDULE_DAYS ({settings.SMS_MAX_SCHEDULE_DAYS}) days ahead. "
            f"A time in the past, up to {SEND_AT_MAX_PAST.days} days back, sends now."), **kwargs)

    def to_internal_value(self, value):
        when = super().to_internal_value(value)
        now = timezone.now()
        if when > now + timedelta(days=settings.SMS_MAX_SCHEDULE_DAYS):
            raise serializers.ValidationError(
                f"At most {settings.SMS_MAX_SCHEDULE_DAYS} days ahead (SMS_MAX_SCHEDULE_DAYS).")
        if when < now - SEND_AT_MAX_PAST:
            raise serializers.ValidationError(
                f"At most {SEND_AT_MAX_PAST.days} days in the past (a past time means: send now).")
        return when


class SendSmsInput(serializers.Serializer):
    phone = PhoneField()
    message = serializers.CharField(max_length=settings.SMS_MAX_BODY_CHARS, required=False)
    template_code = serializers.SlugField(max_length=64, required=False)
    template_data = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=1000),
                                          required=False, default=dict)
    message_type = serializers.ChoiceField(choices=MessageType.choices, default=MessageType.TRANSACTIONAL)
    send_at = SendAtField()
    custom_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if ("message" in attrs) == ("template_code" in attrs):
            raise serializers.ValidationError({"message": ["Send either message or template_code, not both."]})
        return attrs


class BulkItemInput(SendSmsInput):
    """One entry of a bulk request: like a single send, without its own type or time."""

    message_type = None
    send_at = None


class BulkSmsInput(serializers.Serializer):
    MAX_MESSAGES = 1000

    messages = serializers.ListField(child=BulkItemInput(), allow_empty=False, max_length=MAX_MESSAGES,
                                     help_text="Errors are keyed by the entry's index.")
    message_type = serializers.ChoiceField(choices=MessageType.choices, default=MessageType.TRANSACTIONAL)
    send_at = SendAtField()


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
    start_date = serializers.DateField(required=False, validators=[supported_day])
    end_date = serializers.DateField(required=False, validators=[supported_day])
    status = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)

    def validate(self, attrs):
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and start > end:
            raise serializers.ValidationError({"end_date": ["end_date must not be before start_date."]})
        return attrs
