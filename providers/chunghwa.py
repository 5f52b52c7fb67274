"""Chunghwa Telecom (Taiwan) through the emome IMSP HTTP API.

Wire format (shared/PROVIDERS.md §6): form POST /imsp/sms/servlet/SubmitSM
with `account`, `password`, `from_addr_type=0`, `from_addr`, `to_addr_type=0`,
`to_addr` (national 09xxxxxxxx), `msg_expire_time=0`, `msg_type` and `msg`.
A body that encodes in Big5 goes as Big5 text (`msg_type=0`, the form itself
Big5-encoded, as every client we found does); anything else as UTF-16 (UCS-2,
big-endian) hex with `msg_type=2` [U: 2 vs 3]. The answer is an HTML page
with one line per recipient, `to_addr|code|message_id|description<br>`.

One request is one SMS: 160 ASCII characters, or 70 when the text has
anything else (Chinese). Longer bodies and numbers outside Taiwan are
refused before sending (`cannot_send`), so the chain tries the next provider.

IMSP pushes nothing (no receipt callback, no inbound, no signature scheme
was found), so delivery status comes from polling QuerySM via fetch_status.
QuerySM needs the recipient as well as the id, so provider_message_id is
`<to_addr>|<message_id>`, like CHT's own answer line.
"""

import re
from urllib.parse import urlencode

from providers.base import (
    PermanentProviderError,
    ProviderAuthError,
    RateLimitedError,
    SendResult,
    StatusUpdate,
    TransientProviderError,
)
from providers.http import HttpProvider, Response
from providers.wire import error_for_code, error_for_status

BIG5_TEXT = "0"
UTF16_HEX = "2"

ERROR_CODES = {
    -1: TransientProviderError,  # system or database fault
    4: TransientProviderError,
    16: TransientProviderError,  # msisdn<->subno lookup failed, try later
    31: TransientProviderError,
    32: TransientProviderError,  # cannot reach the SMS centre
    33: RateLimitedError,  # SMS centre busy
    23: ProviderAuthError,  # login IP not registered
    24: ProviderAuthError,  # account disabled
}  # everything else (9, 11, 12, 13, 17, 18, 48, 55, ...) is permanent

# QuerySM codes as smsgate statuses; 2 (not found) and 5 (deleted, unknown) tell nothing.
QUERY_STATUS = {"0": "delivered", "1": "sent", "31": "sent", "32": "sent", "33": "sent",
                "3": "undelivered", "8": "undelivered", "12": "undelivered", "13": "undelivered",
                "48": "undelivered", "9": "failed", "11": "failed", "18": "failed"}

_TAIWAN_MOBILE = re.compile(r"^\+886(9\d{8})$")
_BODY = re.compile(r"<body>(.*?)</body>", re.S | re.I)


def encode_body(body: str) -> tuple[str, str]:
    """(msg_type, msg): Big5 text when the body encodes in Big5, else UTF-16BE hex."""
    try:
        body.encode("big5")
    except UnicodeEncodeError:
        return UTF16_HEX, body.encode("utf-16-be").hex().upper()
    return BIG5_TEXT, body


def single_sms_limit(body: str) -> int:
    return 160 if body.isascii() else 70


def sms_units(body: str) -> int:
    """Characters as one SMS counts them: UTF-16 units once the text is not ASCII (an emoji takes two)."""
    return len(body) if body.isascii() else len(body.encode("utf-16-be")) // 2


def national_mobile(e164: str) -> str:
    """+886912345678 -> 0912345678 (the caller has checked it is a Taiwan mobile)."""
    return "0" + _TAIWAN_MOBILE.match(e164)[1]


class ChunghwaProvider(HttpProvider):
    name = "chunghwa"
    sender_key = "from_addr"
    max_length = 160
    settings_prefix = "CHT_SMS_"
    required_credentials = ("account_id", "password")
    optional_settings = {"from_addr": ""}

    def cannot_send(self, message) -> str:
        if reason := super().cannot_send(message):  # MMS
            return reason
        if not _TAIWAN_MOBILE.match(message.to):
            return f"CHT emome sends only to Taiwan mobile numbers, not {message.to}"
        limit = single_sms_limit(message.body)
        if sms_units(message.body) > limit:
            return f"CHT takes one SMS of at most {limit} characters for this text"
        return ""

    def send(self, message) -> SendResult:
        if reason := self.cannot_send(message):
            raise PermanentProviderError(reason)
        msg_type, msg = encode_body(message.body)
        to_addr = national_mobile(message.to)
        to, code, message_id, description = self._post("SubmitSM", {
            "from_addr_type": "0", "from_addr": self.from_addr, "to_addr_type": "0", "to_addr": to_addr,
            "msg_expire_time": "0", "msg_type": msg_type, "msg": msg,
        })
        if code != "0":
            raise error_for_code(int(code), f"CHT {code}: {description}", ERROR_CODES)
        return SendResult(provider_message_id=f"{to_addr}|{message_id}", segments=1,
                          raw={"to_addr": to, "code": code, "message_id": message_id, "msg_type": msg_type})

    def fetch_status(self, provider_message_id: str) -> StatusUpdate | None:
        to_addr, _, message_id = provider_message_id.partition("|")
        _, code, _, description = self._post("QuerySM", {"to_addr_type": "0", "to_addr": to_addr,
                                                         "messageid": message_id})
        if int(code) in (23, 24):
            raise error_for_code(int(code), f"CHT {code}: {description}", ERROR_CODES)
        status = QUERY_STATUS.get(code)
        if status is None:
            return None
        failed = status in ("failed", "undelivered")
        return StatusUpdate(provider_message_id=provider_message_id, status=status,
                            error_code=code if failed else "", error_message=description if failed else "")

    def _post(self, servlet: str, fields: dict[str, str]) -> list[str]:
        """POST a Big5 form to an IMSP servlet; the first answer line's four fields."""
        body = urlencode({"account": self.account_id, "password": self.password, **fields}, encoding="big5")
        response = self.request("POST", f"/imsp/sms/servlet/{servlet}", data=body,
                                headers={"Content-Type": "application/x-www-form-urlencoded; charset=Big5"})
        text = _text(response)
        line = _first_line(text)
        if line is None or not re.fullmatch(r"-?\d+", line[1]):
            raise TransientProviderError(f"CHT answered no result line: {text[:200]!r}")
        return line

    def raise_for_response(self, response: Response) -> None:
        """IMSP answers errors in its result line; a non-200 status is an HTTP error (its page is Big5)."""
        if response.status_code != 200:
            raise error_for_status(response.status_code, _text(response)[:200])


def _text(response: Response) -> str:
    return response.content.decode("big5", errors="replace")


def _first_line(html: str) -> list[str] | None:
    match = _BODY.search(html)
    for line in re.split(r"<br\s*/?>", match[1] if match else html, flags=re.I):
        fields = line.strip().split("|")
        if len(fields) == 4:
            return fields
    return None
