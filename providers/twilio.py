"""Twilio Programmable Messaging through the official `twilio` SDK.

TWILIO_API_BASE_URL points the SDK somewhere other than api.twilio.com
(a loopback fake in tests, a proxy in staging). The SDK makes the requests
(one requests.Session per backend instance and thread, so the registry's
reuse of instances keeps its TLS connections alive); its errors are mapped in the same
shape as an HttpProvider's: transport failures transient, an error answer
by Twilio's code, else by its HTTP status (`wire.error_for_status`).
"""

import threading
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
    ProviderError,
    RateLimitedError,
    RecipientOptedOut,
    SendResult,
    StatusUpdate,
    TransientProviderError,
    WebhookAuthError,
)
from providers.wire import error_for_status, to_int

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

# Twilio's error codes that say more than their HTTP status; any other error goes by its status.
ERROR_CODES = {
    21610: RecipientOptedOut,
    20003: ProviderAuthError,  # authentication failed
    **dict.fromkeys({20429, 21611}, RateLimitedError),  # too many requests; the queue of a number is full
    # The same message can never succeed (invalid or unreachable number, region not enabled, body, ...).
    **dict.fromkeys({21211, 21408, 21602, 21606, 21612, 21614, 21617, 21635}, PermanentProviderError),
    # MMS: invalid media URL, too many media, unusable content type, media too large.
    **dict.fromkeys({21620, 21623, 12300, 11751}, PermanentProviderError),
}


@contextmanager
def _carrier_errors():
    """Twilio's exceptions as ours: an error reply by its code, no answer at all (connection, timeout) transient."""
    try:
        yield
    except TwilioRestException as exc:
        raise error_for_answer(exc) from exc
    except (TwilioException, requests.RequestException) as exc:
        raise TransientProviderError(f"Twilio unreachable: {exc}") from exc


class TwilioProvider(Provider):
    name = "twilio"
    sender_key = "from_number"
    callback_url_keys = ("status_callback",)
    callback_kinds = ("delivery", "inbound")
    max_length = 1600
    supports_mms = True  # MediaUrl, repeated: up to 10 media, 5 MB in all
    settings_prefix = "TWILIO_"
    required_credentials = ("account_sid", "auth_token")
    optional_settings = {"from_number": "", "base_url": "https://api.twilio.com", "status_callback": "",
                         "timeout": 15}
    setting_names = {"base_url": "TWILIO_API_BASE_URL"}

    def __init__(self, **config):
        super().__init__(**config)
        self._local = threading.local()

    @property
    def client(self) -> Client:
        """This thread's SDK client, kept with its connections for the instance's life.

        One per thread: the SDK's http client hands each request's answer back
        through an attribute of its own, so two threads sharing one could swap answers.
        """
        client = getattr(self._local, "client", None)
        if client is None:
            # An explicit environment keeps TWILIO_EDGE / TWILIO_REGION in os.environ
            # from rewriting the host (which would break a non-default base URL).
            client = self._local.client = Client(
                self.account_sid,
                self.auth_token,
                http_client=TwilioHttpClient(timeout=self.timeout),
                environment={"TWILIO_EDGE": "", "TWILIO_REGION": ""},
            )
            client.api.base_url = self.base_url.rstrip("/")
        return client

    @classmethod
    def config_from_settings(cls, settings) -> dict:
        """Status callbacks come to our delivery URL when the gateway's public address is known."""
        config = super().config_from_settings(settings)
        if settings.PUBLIC_BASE_URL:
            config["status_callback"] = f"{settings.PUBLIC_BASE_URL}/api/v1/sms/delivery/twilio"
        return config

    def send(self, message) -> SendResult:
        params = {"to": message.to, "from_": self.from_number}
        if message.body:  # Twilio needs Body or MediaUrl: an MMS may have no text
            params["body"] = message.body
        if media := getattr(message, "media_urls", None):
            params["media_url"] = list(media)  # the SDK repeats the MediaUrl form field
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


def error_for_answer(exc: TwilioRestException) -> ProviderError:
    """The ProviderError for an error answer: by Twilio's code when it says more, else by the HTTP status."""
    text = exc.msg or str(exc)
    if exc.code in ERROR_CODES:
        return ERROR_CODES[exc.code](text, code=exc.code)
    return error_for_status(exc.status, text, code=exc.code)


def _price(value) -> Decimal | None:
    """Twilio reports prices as negative strings ("-0.00750"), or null until known."""
    try:
        return abs(Decimal(value))
    except (TypeError, ValueError, InvalidOperation):
        return None
