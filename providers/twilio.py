"""Twilio Programmable Messaging through the official `twilio` SDK.

TWILIO_API_BASE_URL points the SDK somewhere other than api.twilio.com
(a loopback fake in tests, a proxy in staging).
"""

from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

import requests
from django.http import HttpResponse
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from providers.base import (
    Balance,
    InboundMessage,
    PermanentProviderError,
    Provider,
    ProviderAuthError,
    RateLimitedError,
    RecipientOptedOut,
    SendResult,
    StatusUpdate,
    TransientProviderError,
    WebhookAuthError,
)
from providers.wire import to_int

# Twilio's message statuses, as smsgate statuses.
STATUS_MAP = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "partially_delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "cancelled",
}

# Error codes after which the same message can never succeed.
PERMANENT_CODES = {21211, 21408, 21602, 21606, 21612, 21614, 21617, 21635}
OPTED_OUT_CODE = 21610
RATE_LIMIT_CODES = {20429, 21611}


@contextmanager
def _carrier_errors():
    """Twilio's exceptions as ours: an error reply by its code, no answer at all (connection, timeout) transient."""
    try:
        yield
    except TwilioRestException as exc:
        raise _error_from(exc) from exc
    except (TwilioException, requests.RequestException) as exc:
        raise TransientProviderError(f"Twilio unreachable: {exc}") from exc


class TwilioProvider(Provider):
    name = "twilio"
    sender_key = "from_number"
    callback_url_keys = ("status_callback",)
    callback_kinds = ("delivery", "inbound")
    max_length = 1600
    required_credentials = {"account_sid": "TWILIO_ACCOUNT_SID", "auth_token": "TWILIO_AUTH_TOKEN"}

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str, base_url: str,
                 status_callback: str = "", timeout: int = 15):
        super().__init__(account_sid=account_sid, from_number=from_number)
        self.auth_token = auth_token
        self.from_number = from_number
        self.status_callback = status_callback
        # An explicit environment keeps TWILIO_EDGE / TWILIO_REGION in os.environ
        # from rewriting the host (which would break a non-default base URL).
        self.client = Client(
            account_sid,
            auth_token,
            http_client=TwilioHttpClient(timeout=timeout),
            environment={"TWILIO_EDGE": "", "TWILIO_REGION": ""},
        )
        self.client.api.base_url = base_url.rstrip("/")

    @classmethod
    def config_from_settings(cls, settings) -> dict:
        callback = f"{settings.PUBLIC_BASE_URL}/api/v1/sms/delivery/twilio" if settings.PUBLIC_BASE_URL else ""
        return {
            "account_sid": settings.TWILIO_ACCOUNT_SID,
            "auth_token": settings.TWILIO_AUTH_TOKEN,
            "from_number": settings.TWILIO_FROM_NUMBER,
            "base_url": settings.TWILIO_API_BASE_URL,
            "status_callback": callback,
            "timeout": settings.PROVIDER_HTTP_TIMEOUT,
        }

    def send(self, message) -> SendResult:
        params = {"to": message.to, "from_": self.from_number, "body": message.body}
        if self.status_callback:
            params["status_callback"] = self.status_callback
        with _carrier_errors():
            sent = self.client.messages.create(**params)
        return SendResult(
            provider_message_id=sent.sid,
            status=STATUS_MAP.get(sent.status, "sent"),
            segments=to_int(sent.num_segments),
            price=_price(sent.price),
            price_unit=sent.price_unit or "",
            raw={"sid": sent.sid, "status": sent.status},
        )

    def fetch_status(self, provider_message_id: str) -> StatusUpdate | None:
        with _carrier_errors():
            fetched = self.client.messages(provider_message_id).fetch()
        return StatusUpdate(
            provider_message_id=fetched.sid,
            status=STATUS_MAP.get(fetched.status, "sent"),
            error_code=str(fetched.error_code or ""),
            error_message=fetched.error_message or "",
        )

    def balance(self) -> Balance:
        with _carrier_errors():
            fetched = self.client.api.v2010.account.balance.fetch()
        return Balance(amount=Decimal(fetched.balance), currency=fetched.currency or "")

    def authenticate_callback(self, request, kind: str) -> None:
        """X-Twilio-Signature: HMAC-SHA1, keyed with the auth token, of the URL and the form's fields."""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not self.auth_token:
            raise WebhookAuthError("missing X-Twilio-Signature")
        validator = RequestValidator(self.auth_token)
        if not any(validator.validate(url, request.POST, signature) for url in _candidate_urls(request)):
            raise WebhookAuthError("bad X-Twilio-Signature")

    def parse_delivery(self, request) -> list[StatusUpdate]:
        data = request.POST
        sid = data.get("MessageSid") or data.get("SmsSid") or ""
        twilio_status = data.get("MessageStatus") or data.get("SmsStatus") or ""
        if not sid or twilio_status not in STATUS_MAP:
            return []
        return [
            StatusUpdate(
                provider_message_id=sid,
                status=STATUS_MAP[twilio_status],
                error_code=data.get("ErrorCode", ""),
                raw=data.dict(),
            )
        ]

    def parse_inbound(self, request) -> list[InboundMessage]:
        data = request.POST
        return [
            InboundMessage(
                sender=data.get("From", ""),
                recipient=data.get("To", ""),
                body=data.get("Body", ""),
                provider_message_id=data.get("MessageSid", ""),
                raw=data.dict(),
            )
        ]

    def webhook_response(self, kind: str) -> HttpResponse:
        # Twilio expects TwiML; an empty Response sends no reply.
        return HttpResponse("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>", content_type="text/xml")


def _candidate_urls(request) -> list[str]:
    """The URL Twilio signed: as configured publicly, and as this request arrived."""
    from django.conf import settings

    urls = [request.build_absolute_uri()]
    if settings.PUBLIC_BASE_URL:
        urls.insert(0, settings.PUBLIC_BASE_URL + request.get_full_path())
    return urls


def _error_from(exc: TwilioRestException):
    code = exc.code
    text = exc.msg or str(exc)
    if code == OPTED_OUT_CODE:
        return RecipientOptedOut(text, code=code)
    if code in PERMANENT_CODES:
        return PermanentProviderError(text, code=code)
    if exc.status in (401, 403) or code == 20003:
        return ProviderAuthError(text, code=code)
    if exc.status == 429 or code in RATE_LIMIT_CODES:
        return RateLimitedError(text, code=code)
    if exc.status >= 500:
        return TransientProviderError(text, code=code)
    # Any other 4xx is about this request; retrying it unchanged won't help.
    return PermanentProviderError(text, code=code)


def _price(value) -> Decimal | None:
    """Twilio reports prices as negative strings ("-0.00750"), or null until known."""
    try:
        return abs(Decimal(value))
    except (TypeError, ValueError, InvalidOperation):
        return None
