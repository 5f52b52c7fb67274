"""A loopback fake of Aircall's public API (native-mode SMS send) and its webhooks.

Basic auth api_id:api_token, JSON in and out, real HTTP error statuses with
`error`/`troubleshoot`, the created message object at top level; webhooks are
the {resource, event, timestamp, token, data} envelope carrying the webhook's token.
An MMS's `mediaUrl` (a list of http(s) URLs, with a text) comes back as the message's `media_url`.
"""

import base64
import hmac
import itertools
import json
import re

from tests.fakes.callback import Callback
from tests.fakes.server import FakeServer, Reply

API_ID = "aircall-api-id"
API_TOKEN = "aircall-api-token"
NUMBER_ID = "424242"
NUMBER_DIGITS = "+33 1 76 34 00 00"
WEBHOOK_TOKEN = "45XXYYZZa08"
UNREACHABLE_NUMBERS = {"+33100000000"}  # well-formed, but Aircall cannot text it
_SEND = re.compile(r"^/v1/numbers/(?P<number_id>\d+)/messages/native/send$")


def aircall_error(status: int, error: str, troubleshoot: str = "") -> Reply:
    return Reply(status, {"error": error, "troubleshoot": troubleshoot or error})


class FakeAircall(FakeServer):
    def __init__(self, api_id: str = API_ID, api_token: str = API_TOKEN, number_id: str = NUMBER_ID,
                 webhook_token: str = WEBHOOK_TOKEN):
        super().__init__()
        self.api_id, self.api_token, self.number_id = api_id, api_token, number_id
        self.webhook_token = webhook_token
        self.messages: dict[str, dict] = {}
        self._ids = itertools.count(1)

    def handle(self, request) -> Reply:
        expected = "Basic " + base64.b64encode(f"{self.api_id}:{self.api_token}".encode()).decode()
        if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
            return aircall_error(401, "Unauthorized", "Check your api_id and api_token")
        match = _SEND.match(request.path)
        if not match or request.method != "POST":
            return aircall_error(404, "Not found")
        if match["number_id"] != self.number_id:
            return aircall_error(404, "Number not found")
        try:
            payload = request.json()
        except ValueError:
            return aircall_error(400, "Body must be JSON")
        return self._send(payload)

    def _send(self, payload) -> Reply:
        to, body, media = payload.get("to", ""), payload.get("body", ""), payload.get("mediaUrl", [])
        if not body or len(body) > 1600:
            return aircall_error(400, "body must be between 1 and 1600 characters")
        if not isinstance(media, list) or not all(isinstance(u, str) and re.match(r"https?://", u) for u in media):
            return aircall_error(400, "mediaUrl must be a list of URLs")
        if not re.fullmatch(r"\+[1-9]\d{7,14}", to) or to in UNREACHABLE_NUMBERS:
            return aircall_error(400, f"Invalid phone number: {to}")
        message_id = f"5c8e{next(self._ids):028x}"
        message = {"id": message_id, "direct_link": f"https://api.aircall.io/v1/messages/{message_id}",
                   "direction": "outbound", "body": body, "status": "sent", "raw_digits": to, "media_url": media,
                   "created_at": "2026-11-22T22:00:00.000Z", "updated_at": "2026-11-22T22:00:00.000Z",
                   "sent_at": None, "channel": None,
                   "number": {"id": int(self.number_id), "digits": NUMBER_DIGITS}, "contact": None}
        self.messages[message_id] = message
        return Reply(201, message)

    def webhook(self, path: str, event: str, data: dict, token: str | None = None) -> Callback:
        """The envelope Aircall posts for `event`; `token` overrides the webhook's own (to forge one)."""
        envelope = {"resource": "message", "event": event, "timestamp": 1732622896,
                    "token": self.webhook_token if token is None else token, "data": data}
        return Callback(path, json.dumps(envelope), "application/json")

    def status_updated(self, message_id: str, status: str, **kwargs) -> Callback:
        data = {**self.messages[message_id], "status": status}
        return self.webhook("/api/v1/sms/delivery/aircall", "message.status_updated", data, **kwargs)

    def received(self, message_id: str, sender: str, body: str, **kwargs) -> Callback:
        data = {"id": message_id, "direction": "inbound", "body": body, "status": "received",
                "raw_digits": sender, "number": {"id": int(self.number_id), "digits": NUMBER_DIGITS}}
        return self.webhook("/api/v1/sms/inbound/aircall", "message.received", data, **kwargs)
