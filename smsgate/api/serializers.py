from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from providers.registry import provider_choices
from smsgate.console.periods import EARLIEST, LATEST, SUPPORTED_YEARS_PATTERN, supported_day
from smsgate.models import MEDIA_URL_MAX_LENGTH, Message, MessageEvent, MessageType, Routing
from smsgate.phones import NOT_WRITTEN_AS_A_NUMBER, PHONE_PATTERN

# A send_at further back than this is a client bug (a stale retry, a wrong year), not "send now".
SEND_AT_MAX_PAST = timedelta(days=7)


def wrong_json_type(field: serializers.Field, value) -> str | None:
    """Why `value` is not of the JSON type `field` reads, or None (null is left to the field's allow_null)."""
    if value is None:
        return None
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Must be a boolean (true or false)."
    if isinstance(field, serializers.IntegerField):
        return None if isinstance(value, int) and not isinstance(value, bool) else "Must be an integer."
    if isinstance(field, serializers.CharField | serializers.ChoiceField | serializers.DateField
                  | serializers.DateTimeField):
        return None if isinstance(value, str) else "Must be a string."
    if isinstance(field, serializers.DictField) and isinstance(value, dict):
        return next(filter(None, (wrong_json_type(field.child, child) for child in value.values())), None)
    return None


class FieldsBuiltOnce:
    """A serializer whose fields are built once per class, not for every instance.

    DRF deep-copies the declared fields of each new serializer, and a
    ModelSerializer reads its model's fields again: a tenth of a send
    request's time. For serializers that read no context and hold no state in
    their fields (those of the send API), one set of fields, bound to an
    instance of their own, serves every instance alike.
    """

    @property
    def fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:
            built = serializers.Serializer.fields.func(cls())  # DRF's own building, once
            cls._fields_built_once = built
        return built


class JsonInput(serializers.Serializer):
    """An input read as the JSON types the OpenAPI states: DRF alone would take 5 for "5", "true" for true."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {name: [problem] for name, field in self.fields.items()
                      if name in data and (problem := wrong_json_type(field, data[name]))}
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


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


def smart_encoding_field(otherwise: str = "the tenant's setting") -> serializers.BooleanField:
    return serializers.BooleanField(required=False, allow_null=True, default=None, help_text=(
        "Replace look-alike characters (curly quotes, long dashes, Unicode spaces, the ellipsis) with GSM-7 ones "
        "when that makes the text GSM-7 in fewer segments; nothing else is ever changed. "
        f"Absent or null: {otherwise}."))


NOTHING_TO_SEND = "Send message or template_code (or media_urls)."


class StrictUrlText(serializers.CharField):
    """A string as sent: DRF's CharField would take 5 for "5"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def media_urls_field(otherwise: str = "") -> serializers.ListField:
    """`otherwise`: what an absent or null list means (a bulk entry: the request's media_urls)."""
    return serializers.ListField(
        child=StrictUrlText(max_length=MEDIA_URL_MAX_LENGTH), required=False, default=None if otherwise else list,
        allow_null=bool(otherwise), max_length=settings.MMS_MAX_MEDIA, help_text=(
            f"MMS: up to {settings.MMS_MAX_MEDIA} absolute http(s) URLs of media the carrier fetches (JPEG, PNG and "
            "GIF are fully supported by Twilio), e.g. the `url` of an upload to /api/v1/sms/media. With media the "
            "text is optional. Refused when no carrier of the account sends MMS."
            + (f" Absent or null: {otherwise}." if otherwise else "")))


class SendSmsInput(FieldsBuiltOnce, JsonInput):
    phone = PhoneField()
    message = serializers.CharField(max_length=settings.SMS_MAX_BODY_CHARS, required=False)
    template_code = serializers.SlugField(max_length=64, required=False)
    template_data = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=1000),
                                          required=False, default=dict)
    message_type = serializers.ChoiceField(choices=MessageType.choices, default=MessageType.TRANSACTIONAL)
    send_at = SendAtField()
    custom_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    smart_encoding = smart_encoding_field()
    media_urls = media_urls_field()

    def validate(self, attrs):
        if "message" in attrs and "template_code" in attrs:
            raise serializers.ValidationError({"message": ["Send either message or template_code, not both."]})
        if "message" not in attrs and "template_code" not in attrs and not attrs.get("media_urls"):
            raise serializers.ValidationError({"message": [NOTHING_TO_SEND]})
        return attrs


class BulkItemInput(SendSmsInput):
    """One entry of a bulk request: like a single send, without its own type or time.

    Its smart_encoding, when given, wins over the request's.
    """

    message_type = None
    send_at = None
    smart_encoding = smart_encoding_field("the bulk request's smart_encoding")
    media_urls = media_urls_field("the bulk request's media_urls")

    def validate(self, attrs):
        # Without a text, the entry may still carry the request's media: BulkSmsInput checks it has something.
        if "message" in attrs and "template_code" in attrs:
            raise serializers.ValidationError({"message": ["Send either message or template_code, not both."]})
        return attrs


class BulkSmsInput(FieldsBuiltOnce, JsonInput):
    MAX_MESSAGES = 1000

    messages = serializers.ListField(child=BulkItemInput(), min_length=1, max_length=MAX_MESSAGES,
                                     help_text="Errors are keyed by the entry's index.")
    message_type = serializers.ChoiceField(choices=MessageType.choices, default=MessageType.TRANSACTIONAL)
    send_at = SendAtField()
    smart_encoding = smart_encoding_field()
    media_urls = media_urls_field()

    def to_internal_value(self, data):
        """Also: an entry with no text and no media (its own, else the request's) is an error on its `message`,
        reported with the entries' other errors (DRF runs `validate` only when every field is valid)."""
        empty = _nothing_to_send(data)
        try:
            attrs = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            entries = exc.detail.get("messages") if isinstance(exc.detail, dict) else None
            if empty and isinstance(entries, dict):
                for index in empty:
                    entries.setdefault(index, {}).setdefault("message", [NOTHING_TO_SEND])
            raise
        if empty:
            raise serializers.ValidationError({"messages": {index: {"message": [NOTHING_TO_SEND]} for index in empty}})
        return attrs


def _nothing_to_send(data) -> list[int]:
    """The indexes of bulk entries (as sent) with neither a text nor media, their own or the request's."""
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        return []
    request_media = data.get("media_urls")
    return [
        index for index, entry in enumerate(data["messages"])
        if isinstance(entry, dict) and "message" not in entry and "template_code" not in entry
        and not (request_media if entry.get("media_urls") is None else entry["media_urls"])
    ]


class MessageOutput(FieldsBuiltOnce, serializers.ModelSerializer):
    status_code = serializers.IntegerField(read_only=True, help_text="Legacy code: 0 pending, 1 delivered, "
                                           "2 sent, 3 in progress, 4 failed, 5 expired.")
    variant_label = serializers.CharField(source="variant.label", default=None, allow_null=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id", "to", "body", "status", "status_code", "status_reason", "message_type", "encoding", "segments",
            "segments_saved", "media_urls", "send_at", "custom_id", "variant_label", "provider", "provider_message_id",
            "price", "price_unit", "estimated_price", "estimated_price_unit", "error_code", "error_message", "attempts",
            "created_at", "sent_at", "delivered_at",
        ]
        extra_kwargs = {
            "price": {"help_text": "What the carrier reported it charged (null until it does), in price_unit."},
            "estimated_price": {"help_text": "From the carrier price list: at submit for the carrier the message "
                                "would go to first, once sent for the carrier that took it; null when unpriced."},
        }


class MessageEventOutput(serializers.ModelSerializer):
    class Meta:
        model = MessageEvent
        fields = ["kind", "provider", "status", "ok", "error_code", "error_message", "duration_ms", "created_at"]


class MessageDetailOutput(MessageOutput):
    events = MessageEventOutput(many=True, read_only=True)

    class Meta(MessageOutput.Meta):
        fields = [*MessageOutput.Meta.fields, "events"]


class MediaUploadInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text=(
        f"A JPEG, PNG or GIF image (judged by its content), at most MMS_MAX_FILE_BYTES "
        f"({settings.MMS_MAX_FILE_BYTES} bytes)."))


class MediaUploadOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="Signed URL to put in media_urls; carriers fetch it without credentials.")
    expires_at = serializers.DateTimeField(help_text="The URL works until then (MMS_MEDIA_URL_DAYS).")
    content_type = serializers.CharField()
    size = serializers.IntegerField()


class BulkSmsOutput(FieldsBuiltOnce, serializers.Serializer):
    count = serializers.IntegerField()
    ids = serializers.ListField(child=serializers.IntegerField(), help_text="The messages' ids, in request order.")
    segments_saved = serializers.IntegerField(help_text="Segments smart encoding saved, over all the messages.")


@extend_schema_field({"type": "string", "format": "date", "pattern": SUPPORTED_YEARS_PATTERN})
class SupportedDayField(serializers.DateField):
    """A day from EARLIEST to LATEST (smsgate.console.periods)."""

    def __init__(self, **kwargs):
        super().__init__(required=False, validators=[supported_day], **kwargs)


class PeriodQuery(serializers.Serializer):
    """Days from start_date to end_date inclusive (see smsgate.console.periods for the defaults and the bounds)."""

    start_date = SupportedDayField(help_text=f"From {EARLIEST} on. Stats default to 29 days before end_date.")
    end_date = SupportedDayField(help_text=f"Up to {LATEST}, not before start_date. Stats default to today.")

    def validate(self, attrs):
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and start > end:
            raise serializers.ValidationError({"end_date": ["end_date must not be before start_date."]})
        return attrs


class LogQuery(PeriodQuery):
    status = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    kind = serializers.ChoiceField(choices=[("sms", "SMS"), ("mms", "MMS (with media)")], required=False,
                                   help_text="sms: messages without media; mms: with media.")


class PriceQuery(serializers.Serializer):
    provider = serializers.ChoiceField(choices=provider_choices(), required=False,
                                       help_text="Only this carrier's prices.")
    # The answer then adds `route`: the carriers in the order a message to this number would try them.
    phone = PhoneField(required=False)


class PriceOutput(serializers.Serializer):
    provider = serializers.CharField()
    prefix = serializers.CharField(help_text="E.164 digits without +: a calling code (55) or a longer prefix.")
    price = serializers.DecimalField(max_digits=10, decimal_places=5, help_text="Per segment.")
    currency = serializers.CharField(help_text="ISO 4217.")
    source = serializers.ChoiceField(choices=["platform", "tenant"],
                                     help_text="tenant: the tenant's own price, replacing the platform's.")
    updated_at = serializers.DateTimeField()


class RouteStepOutput(serializers.Serializer):
    provider = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=5, allow_null=True, help_text="Per segment.")
    currency = serializers.CharField(allow_blank=True)


class PricesOutput(serializers.Serializer):
    routing = serializers.ChoiceField(choices=Routing.choices)
    chain = serializers.ListField(child=serializers.CharField(), help_text="The tenant's carriers, as configured.")
    prices = PriceOutput(many=True)
    phone = serializers.CharField(required=False, help_text="The number asked about, in E.164.")
    route = RouteStepOutput(many=True, required=False)
