"""A loopback fake of Chunghwa Telecom's emome IMSP API: SubmitSM and QuerySM.

Takes Big5-encoded form posts (POST only, like the https endpoint), decodes
`msg` as Big5 text (msg_type 0) or UTF-16 hex (msg_type 2), and answers the
HTML page with one `to_addr|code|message_id|description<br>` line.
"""

import hmac
import itertools
import re
from urllib.parse import parse_qs

from tests.fakes.server import FakeServer, Reply

ACCOUNT = "14525"
PASSWORD = "cht-test-password"
EMPTY_NUMBERS = {"0900000000"}  # well-formed, but nobody has it (code 9)


def page(to_addr: str, code: str, message_id: str, description: str) -> Reply:
    html = f"<html><header></header><body>\n{to_addr}|{code}|{message_id}|{description}<br>\n</body></html>"
    return Reply(200, html.encode("big5"), {"Content-Type": "text/html; charset=Big5"})


class FakeChunghwa(FakeServer):
    def __init__(self, account: str = ACCOUNT, password: str = PASSWORD):
        super().__init__()
        self.account, self.password = account, password
        self.messages: dict[str, dict] = {}
        self.statuses: dict[str, str] = {}  # message id -> QuerySM code; "1" (in transit) by default
        self._ids = itertools.count(1)

    @staticmethod
    def form(request) -> dict[str, str]:
        """The form decoded as CHT does: percent-escapes are Big5 bytes."""
        pairs = parse_qs(request.body.decode("ascii"), keep_blank_values=True, encoding="big5", errors="strict")
        return {name: values[0] for name, values in pairs.items()}

    def handle(self, request) -> Reply:
        if request.method != "POST":
            return page("", "55", "", "GET not allowed")
        form = self.form(request)
        if form.get("account") != self.account or not hmac.compare_digest(form.get("password", ""), self.password):
            return page(form.get("to_addr", ""), "24", "", "帳號已停用")
        if request.path == "/imsp/sms/servlet/SubmitSM":
            return self._submit(form)
        if request.path == "/imsp/sms/servlet/QuerySM":
            message_id = form.get("messageid", "")
            if self.messages.get(message_id, {}).get("to_addr") != form.get("to_addr"):
                return page(form.get("to_addr", ""), "2", message_id, "查無此訊息")
            return page(form["to_addr"], self.statuses.get(message_id, "1"), message_id, "status")
        return Reply(404, b"<html>404</html>", {"Content-Type": "text/html"})

    def _submit(self, form: dict[str, str]) -> Reply:
        to_addr = form.get("to_addr", "")
        if not re.fullmatch(r"09\d{8}|8869\d{8}", to_addr):
            return page(to_addr, "11", "", "號碼格式錯誤")
        if to_addr in EMPTY_NUMBERS:
            return page(to_addr, "9", "", "錯誤的接收端號碼")
        msg_type, msg = form.get("msg_type"), form.get("msg", "")
        if msg_type == "0":
            text = msg
        elif msg_type == "2":
            text = bytes.fromhex(msg).decode("utf-16-be")
        else:
            return page(to_addr, "-1", "", f"unsupported msg_type {msg_type}")
        message_id = f"H{next(self._ids):09d}"
        self.messages[message_id] = {"to_addr": to_addr, "msg_type": msg_type, "msg": msg, "text": text,
                                     "from_addr": form.get("from_addr", "")}
        return page(to_addr, "0", message_id, "Success")
