"""Aircall: SMS from an Aircall number in native mode (the message shows in the agents' inbox).

Wire format (shared/PROVIDERS.md §5): POST /v1/numbers/{number_id}/messages/native/send
with JSON {"to", "body"} (at most 1600 characters) and Basic auth api_id:api_token;
the created message object comes back at top level. Errors are real HTTP
statuses with a JSON `message`/`error`.

Webhooks post a JSON envelope {resource, event, timestamp, token, data}. Aircall
signs nothing: the body's `token` is compared, in constant time, with
AIRCALL_WEBHOOK_TOKEN. One Aircall webhook has one token and Aircall posts
every subscribed event to one URL, so the usual set-up is two webhooks
(status events -> /delivery/aircall, message.received -> /inbound/aircall);
AIRCALL_WEBHOOK_TOKEN takes a comma-separated list of their tokens.
"""

import json

from providers import http
from providers.base import (
    InboundMessage,
    PermanentProviderError,
    Provider,
    ProviderAuthError,
    SendResult,
    StatusUpdate,
    TransientProviderError,
    WebhookAuthError,
)
from providers.webhook_auth import check_secret
from providers.wire import error_for_status, json_or_none

# Aircall's message statuses are not published [U]; these are the values we expect.
STATUS_MAP = {
    "pending": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}
STATUS_EVENTS = {"message.status_updated", "message.sent"}
INBOUND_EVENT = "message.received"


class AircallProvider(Provider):
    name = "aircall"
    max_length = 1600
    required_credentials = {"api_id": "AIRCALL_API_ID", "api_token": "AIRCALL_API_TOKEN",
                            "number_id": "AIRCALL_NUMBER_ID"}

    def __init__(self, *, api_id: str, api_token: str, number_id: str, base_url: str,
                 webhook_token: str = "", timeout: float = 15):
        super().__init__(api_id=api_id, number_id=number_id)
        self.auth = (api_id, api_token)
        self.number_id = number_id
        self.base_url = base_url.rstrip("/")
        self.webhook_tokens = [token.strip() for token in webhook_token.split(",") if token.strip()]
        self.timeout = timeout

    @classmethod
    def config_from_settings(cls, settings) -> dict:
        return {
            "api_id": settings.AIRCALL_API_ID,
            "api_token": settings.AIRCALL_API_TOKEN,
            "number_id": settings.AIRCALL_NUMBER_ID,
            "base_url": settings.AIRCALL_BASE_URL,
            "webhook_token": settings.AIRCALL_WEBHOOK_TOKEN,
            "timeout": settings.PROVIDER_HTTP_TIMEOUT,
        }

    def send(self, message) -> SendResult:
        if reason := self.cannot_send(message):
            raise PermanentProviderError(reason, code="length")
        url = f"{self.base_url}/v1/numbers/{self.number_id}/messages/native/send"
        response = http.request("POST", url, json={"to": message.to, "body": message.body}, auth=self.auth,
                                timeout=self.timeout)
        data = json_or_none(response)
        if response.status_code in (200, 201) and isinstance(data, dict) and data.get("id"):
            return SendResult(provider_message_id=str(data["id"]), status=STATUS_MAP.get(data.get("status"), "sent"),
                              raw={"id": data["id"], "status": data.get("status")})
        if response.status_code == 404:
            # Our number id is unknown to this account: a configuration problem, not this message's.
            raise ProviderAuthError(f"Aircall number {self.number_id} not found: {_text(data)}", code=404, raw=data)
        if response.status_code < 300:
            raise TransientProviderError(f"Aircall answered without a message id: {response.text[:200]}")
        raise error_for_status(response.status_code, _text(data) or response.text[:200], raw=data)

    def parse_delivery(self, request) -> list[StatusUpdate]:
        event, data = self._verified_event(request)
        status = STATUS_MAP.get(data.get("status")) or ("sent" if event == "message.sent" else None)
        if event not in STATUS_EVENTS or not data.get("id") or status is None:
            return []
        return [StatusUpdate(provider_message_id=str(data["id"]), status=status, raw=data)]

    def parse_inbound(self, request) -> list[InboundMessage]:
        event, data = self._verified_event(request)
        if event != INBOUND_EVENT:
            return []
        number = data.get("number") or {}
        return [
            InboundMessage(
                sender=_e164(data.get("raw_digits", "")),
                recipient=_e164(number.get("digits", "")),
                body=data.get("body") or "",
                provider_message_id=str(data.get("id") or ""),
                raw=data,
            )
        ]

    def _verified_event(self, request) -> tuple[str, dict]:
        try:
            envelope = json.loads(request.body)
        except ValueError:
            raise WebhookAuthError("body is not JSON, so it carries no token") from None
        if not isinstance(envelope, dict):
            raise WebhookAuthError("body is not an Aircall webhook envelope")
        check_secret(str(envelope.get("token") or ""), self.webhook_tokens, "token")
        data = envelope.get("data")
        return str(envelope.get("event", "")), data if isinstance(data, dict) else {}


def _text(data) -> str:
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or "")
    return ""


def _e164(raw: str) -> str:
    """Aircall formats numbers for display ("+33 6 12 34 56 78")."""
    return "".join(char for char in raw if char.isdigit() or char == "+")
