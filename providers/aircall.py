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

MMS: the native send takes an optional `mediaUrl` list (shared/PROVIDERS.md §5, from the
aircall-api client [3P]). Whether Aircall accepts media without a text is not documented, so
an MMS without text is not given to Aircall (`cannot_send`): the chain moves on.
"""

from providers.base import (
    InboundMessage,
    PermanentProviderError,
    ProviderAuthError,
    SendResult,
    StatusUpdate,
    TransientProviderError,
    UnusableCallback,
    WebhookAuthError,
)
from providers.http import HttpProvider, Response
from providers.webhook_auth import check_secret
from providers.wire import error_for_status, json_object, object_field, text_field

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


class AircallProvider(HttpProvider):
    name = "aircall"
    callback_kinds = ("delivery", "inbound")
    # Aircall retries a webhook that does not answer 2xx and disables it after sustained failures.
    retries_refused_callbacks = True
    max_length = 1600
    supports_mms = True
    settings_prefix = "AIRCALL_"
    required_credentials = ("api_id", "api_token", "number_id")
    optional_settings = {"webhook_token": ""}

    @property
    def webhook_tokens(self) -> list[str]:
        """AIRCALL_WEBHOOK_TOKEN is a comma-separated list: one token per Aircall webhook."""
        return [token.strip() for token in self.webhook_token.split(",") if token.strip()]

    def cannot_send(self, message) -> str:
        if getattr(message, "media_urls", None) and not message.body:
            return f"{self.name} sends media only with a text"
        return super().cannot_send(message)

    def send(self, message) -> SendResult:
        if reason := self.cannot_send(message):
            raise PermanentProviderError(reason, code="length")
        payload = {"to": message.to, "body": message.body}
        if media := getattr(message, "media_urls", None):
            payload["mediaUrl"] = list(media)
        data = self.request("POST", f"/v1/numbers/{self.number_id}/messages/native/send",
                            json=payload, auth=(self.api_id, self.api_token)).data
        if not isinstance(data, dict) or not data.get("id"):
            raise TransientProviderError(f"Aircall answered without a message id: {data!r:.200}")
        return SendResult(provider_message_id=str(data["id"]), status=STATUS_MAP.get(data.get("status"), "sent"),
                          raw={"id": data["id"], "status": data.get("status")})

    def raise_for_response(self, response: Response) -> None:
        """Errors are real HTTP statuses with a JSON `message` or `error`; a 404 is our number id."""
        if response.status_code == 404:
            # Our number id is unknown to this account: a configuration problem, not this message's.
            raise ProviderAuthError(f"Aircall number {self.number_id} not found: {_text(response.data)}", code=404,
                                    raw=response.data)
        if response.status_code >= 300:
            raise error_for_status(response.status_code, _text(response.data) or response.text[:200],
                                   raw=response.data)

    def authenticate_callback(self, request, kind: str) -> None:
        """The envelope's `token`: reading it is the one parse done before authentication."""
        try:
            envelope = json_object(request.body)
        except UnusableCallback:
            raise WebhookAuthError("body is not a JSON object, so it carries no token") from None
        token = envelope.get("token")
        check_secret(token if isinstance(token, str) else "", self.webhook_tokens, "token")

    def parse_delivery(self, request) -> list[StatusUpdate]:
        event, data = _event(request)
        if event not in STATUS_EVENTS:
            return []
        status = STATUS_MAP.get(text_field(data, "status", label="data.status"))
        status = status or ("sent" if event == "message.sent" else None)
        message_id = text_field(data, "id", label="data.id")
        if not message_id or status is None:
            return []
        return [StatusUpdate(provider_message_id=message_id, status=status, raw=data)]

    def parse_inbound(self, request) -> list[InboundMessage]:
        event, data = _event(request)
        if event != INBOUND_EVENT:
            return []
        number = object_field(data, "number", label="data.number")
        return [
            InboundMessage(
                sender=_e164(text_field(data, "raw_digits", label="data.raw_digits")),
                recipient=_e164(text_field(number, "digits", label="data.number.digits")),
                body=text_field(data, "body", label="data.body"),
                provider_message_id=text_field(data, "id", label="data.id"),
                raw=data,
            )
        ]


def _event(request) -> tuple[str, dict]:
    """An authenticated envelope's event name and its `data` object."""
    envelope = json_object(request.body)
    return text_field(envelope, "event"), dict(object_field(envelope, "data"))


def _text(data) -> str:
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or "")
    return ""


def _e164(raw: str) -> str:
    """Aircall formats numbers for display ("+33 6 12 34 56 78")."""
    return "".join(char for char in raw if char.isdigit() or char == "+")
