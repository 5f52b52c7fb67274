from django.conf import settings
from rest_framework import serializers

from smsgate.api.serializers import JsonInput, MessageOutput, media_urls_field
from webhooks.models import Payment, WebhookEvent


class PaymentOutput(serializers.ModelSerializer):
    recovery_message_status = serializers.CharField(source="recovery_message.status", default=None, allow_null=True)

    class Meta:
        model = Payment
        fields = [
            "id", "tribopay_id", "method", "status", "amount_cents", "customer_name", "customer_phone",
            "payment_link", "waiting_since", "recovery_message", "recovery_message_status", "recovered_at",
            "recovered_amount_cents",
        ]


class WebhookEventOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookEvent
        fields = ["id", "tribopay_id", "status", "method", "received_at", "processed_at", "outcome", "detail",
                  "payment"]


class WebhookEventDetailOutput(WebhookEventOutput):
    payment = PaymentOutput(read_only=True, allow_null=True)

    class Meta(WebhookEventOutput.Meta):
        fields = [*WebhookEventOutput.Meta.fields, "attempts", "payload"]


class SmsLogOutput(MessageOutput):
    class Meta(MessageOutput.Meta):
        fields = [*MessageOutput.Meta.fields, "source_type", "source_id"]


class TestSmsInput(JsonInput):
    phone_number = serializers.CharField(max_length=32)
    message = serializers.CharField(max_length=settings.SMS_MAX_BODY_CHARS)
    media_urls = media_urls_field()


class EventQuery(serializers.Serializer):
    status = serializers.CharField(required=False, max_length=30)
    tribopay_id = serializers.CharField(required=False, max_length=100)


class RecoveryFunnelOutput(serializers.Serializer):
    waiting = serializers.IntegerField(help_text="PIX payments that were waiting_payment.")
    sms_scheduled = serializers.IntegerField()
    sms_cancelled = serializers.IntegerField(help_text="Recovery SMS cancelled because the payment moved on.")
    sms_sent = serializers.IntegerField()
    paid = serializers.IntegerField()
    recovered = serializers.IntegerField(help_text="Paid after the recovery SMS was sent.")
    recovered_revenue_cents = serializers.IntegerField()
    recovered_revenue = serializers.CharField(help_text="e.g. R$ 1.234,56")
