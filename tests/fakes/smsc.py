"""A loopback fake of SMSC.ru's HTTP API: send.php, status.php, balance.php with fmt=3 (JSON).

Speaks the wire format in shared/PROVIDERS.md: parameters by GET query or
POST form, `login`+`psw` checked on every call (error 2), errors as HTTP 200
`{"error": ..., "error_code": N}` (with `id` for codes 3, 6, 7, 8), `cost=2|3`
adding `cost` and `balance` as strings, and numeric message status codes.
"""

import itertools
import re
import time

from tests.fakes.server import FakeServer, Reply

LOGIN = "smsgate-test"
PASSWORD = "test-password"

ERRORS = {
    1: "parameters error",
    2: "authorise error",
    3: "no money",
    4: "IP address is temporarily blocked",
    5: "invalid date format",
    6: "message is denied",
    7: "invalid number",
    8: "can't deliver",
    9: "duplicate request, wait a minute",
}
PRICE_PER_PART = "1.40"
# A well-formed number this fake's operator cannot deliver to (error 8, as SMSC answers for such numbers).
UNDELIVERABLE = "79000000000"


def smsc_error(code: int, message_id: int | None = None) -> Reply:
    """The reply SMSC gives when it refuses a request (HTTP 200, like the real thing)."""
    body = {"error": ERRORS[code], "error_code": code}
    if message_id is not None and code in (3, 6, 7, 8):
        body["id"] = message_id
    return Reply(200, body)


def parts(text: str) -> int:
    """SMS parts as SMSC counts them: 160/153 Latin, 70/67 otherwise."""
    single, multi = (160, 153) if text.isascii() else (70, 67)
    return 1 if len(text) <= single else -(-len(text) // multi)


class FakeSmsc(FakeServer):
    def __init__(self, login: str = LOGIN, password: str = PASSWORD, balance: str = "84.75"):
        super().__init__()
        self.login = login
        self.password = password
        self.balance = balance
        self.messages: dict[int, dict] = {}
        self._ids = itertools.count(1001)

    @property
    def sent(self) -> list[dict]:
        return list(self.messages.values())

    def handle(self, request) -> Reply:
        endpoint = {"/sys/send.php": self._send, "/sys/status.php": self._status, "/sys/balance.php": self._balance}
        handler = endpoint.get(request.path)
        if handler is None:
            return Reply(404, "Not Found")
        if request.field("fmt") != "3":
            return Reply(200, "ERROR = 1 (this fake only speaks fmt=3)")
        if request.field("login") != self.login or request.field("psw") != self.password:
            return smsc_error(2)
        return handler(request)

    def _send(self, request) -> Reply:
        phones, text = request.field("phones"), request.field("mes")
        if not phones or not text:
            return smsc_error(1)
        message_id = int(request.field("id") or next(self._ids))
        digits = re.sub(r"\D", "", phones)
        if not 10 <= len(digits) <= 15 or "," in phones or ";" in phones:
            return smsc_error(7, message_id)
        if digits == UNDELIVERABLE:
            return smsc_error(8, message_id)
        count = parts(text)
        cost = f"{float(PRICE_PER_PART) * count:.2f}"
        self.messages[message_id] = {
            "id": message_id, "phone": digits, "mes": text, "sender": request.field("sender"),
            "charset": request.field("charset"), "status": 0, "err": 0, "ts": int(time.time()),
        }
        reply = {"id": message_id, "cnt": count}
        if request.field("cost") in ("2", "3"):
            reply["cost"] = cost
        if request.field("cost") == "3":
            self.balance = f"{float(self.balance) - float(cost):.2f}"
            reply["balance"] = self.balance
        return Reply(200, reply)

    def _status(self, request) -> Reply:
        message_id, digits = request.field("id"), re.sub(r"\D", "", request.field("phone"))
        if not message_id or not digits:
            return smsc_error(1)
        message = self.messages.get(int(message_id))
        if message is None or message["phone"] != digits:
            return Reply(200, {"status": -3, "last_date": "", "last_timestamp": 0, "err": 0})
        last = time.strftime("%d.%m.%Y %H:%M:%S", time.localtime(message["ts"]))
        return Reply(200, {"status": message["status"], "last_date": last, "last_timestamp": message["ts"],
                           "err": message["err"]})

    def _balance(self, request) -> Reply:
        reply = {"balance": self.balance}
        if request.field("cur") == "1":
            reply["currency"] = "RUB"
        return Reply(200, reply)

    def set_status(self, message_id: int, status: int, err: int = 0) -> None:
        """Move a message on, as the operator's receipts would."""
        self.messages[message_id].update(status=status, err=err, ts=int(time.time()))

    def callback_params(self, message_id: int) -> dict[str, str]:
        """The fields SMSC posts to the handler URL for a message's current status."""
        message = self.messages[message_id]
        ts = message["ts"]
        return {"id": str(message_id), "phone": message["phone"], "status": str(message["status"]),
                "time": time.strftime("%d.%m.%Y %H:%M:%S", time.localtime(ts)), "ts": str(ts),
                "err": str(message["err"])}
