"""A loopback fake of WebSMS.by's cabinet API: /api/send/sms and /api/balances.

Answers JSON with HTTP 200 even for errors (`status` false, a code and a text),
checks user/apikey, msisdn digits and text, and prices every part.
"""

import hmac
import itertools
import re
from decimal import Decimal

from providers.segments import count_segments
from tests.fakes.server import FakeServer, Reply

USER = "ops@enterprise.by"
APIKEY = "websms-test-apikey"
PRICE_PER_PART = Decimal("0.014732")
INVALID_NUMBERS = {"375297777777"}  # a well-formed number the carrier says is invalid


def websms_error(code: int, message: str) -> Reply:
    return Reply(200, {"status": False, "code": code, "message": message})


class FakeWebSms(FakeServer):
    def __init__(self, user: str = USER, apikey: str = APIKEY):
        super().__init__()
        self.user = user
        self.apikey = apikey
        self.sent: list[dict] = []
        self.balance = 39.17
        self._ids = itertools.count(76443782)

    def handle(self, request) -> Reply:
        if request.path not in ("/api/send/sms", "/api/balances"):
            return Reply(404, "<html>Not Found</html>", {"Content-Type": "text/html"})
        if request.field("user") != self.user:
            return websms_error(1, "Wrong login")
        if not hmac.compare_digest(request.field("apikey"), self.apikey):
            return websms_error(2, "Wrong apikey")
        if request.path == "/api/balances":
            return Reply(200, {"status": True, "sms": self.balance, "viber": 0})
        return self._send(request)

    def _send(self, request) -> Reply:
        msisdn, text = request.field("msisdn"), request.field("text")
        if not msisdn or not text:
            return websms_error(7, "Required parameter missing")
        if not re.fullmatch(r"\d{10,15}", msisdn) or msisdn in INVALID_NUMBERS:
            return websms_error(4, f"Validation error: msisdn {msisdn} is invalid")
        parts = count_segments(text).segments
        message_id = next(self._ids)
        amount = PRICE_PER_PART * parts
        self.sent.append({"message_id": message_id, "msisdn": msisdn, "text": text, "parts": parts,
                          "sender": request.field("sender"), "custom_id": request.field("custom_id")})
        return Reply(200, {"status": True, "message_id": message_id, "price": float(PRICE_PER_PART),
                           "parts": parts, "amount": float(amount), "custom_id": request.field("custom_id")})
