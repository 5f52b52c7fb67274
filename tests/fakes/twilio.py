"""A loopback fake of Twilio's REST API (2010-04-01) and its signed status callbacks.

Speaks the wire format in shared/PROVIDERS.md: Basic auth, form-encoded
Messages.json create, JSON replies with string num_segments/price and RFC 2822
dates, JSON error bodies with `code`/`message`/`more_info`/`status`, and
Twilio's magic test numbers (+15005550001 invalid, +15005550004 opted out, ...).

MMS as Twilio takes them (twilio-oai, api_v2010 Messages.json create): `MediaUrl` repeated, one form
field per media, at most 10 (else 21623); each an absolute http(s) URL (else 21620); Body or MediaUrl
required (21602); the answer's `num_media` counts them. The URLs are kept in `media` by message sid
(Twilio's answer does not show them: they are a subresource).
"""

import base64
import hashlib
import hmac
import itertools
import re
from email.utils import format_datetime

from django.utils import timezone

from tests.fakes.server import FakeServer, Reply

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "test_auth_token"
FROM_NUMBER = "+15005550006"

# Twilio's magic "To" numbers for test credentials.
MAGIC_ERRORS = {
    "+15005550001": (21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number is not currently reachable via SMS."),
    "+15005550003": (21408, "Permission to send an SMS has not been enabled for the region."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}

MAX_MEDIA = 10
_MEDIA_URL = re.compile(r"^https?://[^/\s?#]+", re.IGNORECASE)
_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json$")
_MESSAGE = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages/(?P<msid>SM\w+)\.json$")
_BALANCE = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Balance\.json$")


def twilio_error(code: int, message: str, status: int = 400) -> Reply:
    return Reply(status, {"code": code, "message": message,
                          "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status})


def sign(url: str, params: dict[str, str], auth_token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature as Twilio computes it: HMAC-SHA1 over the URL plus sorted name+value pairs."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class FakeTwilio(FakeServer):
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN,
                 tls: tuple[str, str] | None = None):
        super().__init__(tls=tls)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: dict[str, dict] = {}
        self.media: dict[str, list[str]] = {}  # sid -> its MediaUrl values, in order
        self.balance = "12.34"
        self.delay = 0.0  # seconds each accepted message takes to answer (a slow carrier)
        self._ids = itertools.count(1)

    @property
    def sent(self) -> list[dict]:
        return list(self.messages.values())

    def handle(self, request) -> Reply:
        if not self._authorised(request):
            return twilio_error(20003, "Authenticate", 401)
        if (match := _MESSAGES.match(request.path)) and request.method == "POST":
            return self._create(request)
        if (match := _MESSAGE.match(request.path)) and request.method == "GET":
            message = self.messages.get(match["msid"])
            return Reply(200, message) if message else twilio_error(20404, "The requested resource was not found", 404)
        if _BALANCE.match(request.path) and request.method == "GET":
            return Reply(200, {"account_sid": self.account_sid, "balance": self.balance, "currency": "USD"})
        return twilio_error(20404, "The requested resource was not found", 404)

    def _authorised(self, request) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return hmac.compare_digest(request.headers.get("Authorization", ""), expected) and (
            request.path.startswith(f"/2010-04-01/Accounts/{self.account_sid}/")
        )

    def _create(self, request) -> Reply:
        to, sender, body = request.field("To"), request.field("From"), request.field("Body")
        media = request.form.get("MediaUrl", [])
        if not to:
            return twilio_error(21604, "A 'To' phone number is required.")
        if not sender:
            return twilio_error(21603, "A 'From' phone number is required.")
        if not body and not media:
            return twilio_error(21602, "Message body is required.")
        if len(media) > MAX_MEDIA:
            return twilio_error(21623, "Number of media files exceeds allowed limit")
        if not all(_MEDIA_URL.match(url) for url in media):
            return twilio_error(21620, "Invalid media URL(s)")
        if len(body) > 1600:
            return twilio_error(21617, "The concatenated message body exceeds the 1600 character limit.")
        if to in MAGIC_ERRORS:
            return twilio_error(*MAGIC_ERRORS[to])
        sid = f"SM{next(self._ids):032x}"
        now = format_datetime(timezone.now())
        message = {
            "sid": sid, "account_sid": self.account_sid, "messaging_service_sid": None, "to": to, "from": sender,
            "body": body, "status": "queued", "direction": "outbound-api", "num_segments": "1",
            "num_media": str(len(media)), "price": None, "price_unit": "USD", "error_code": None,
            "error_message": None, "date_created": now,
            "date_updated": now, "date_sent": None, "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "status_callback": request.field("StatusCallback"),
        }
        self.messages[sid] = message
        self.media[sid] = media
        return Reply(201, message, delay=self.delay)

    def callback_params(self, sid: str, status: str, error_code: str = "") -> dict[str, str]:
        """The form Twilio posts to a StatusCallback for this message."""
        message = self.messages[sid]
        params = {
            "MessageSid": sid, "SmsSid": sid, "AccountSid": self.account_sid, "From": message["from"],
            "To": message["to"], "MessageStatus": status, "SmsStatus": status, "ApiVersion": "2010-04-01",
        }
        if error_code:
            params["ErrorCode"] = error_code
        return params
