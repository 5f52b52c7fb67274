"""WebSMS.by (Belarus) through the cabinet.websms.by HTTP API.

Wire format (shared/PROVIDERS.md §3B): form POST /api/send/sms with `user`,
`apikey`, `msisdn` (international digits, no `+`), `text`, `sender` and
`custom_id` (at most 20 characters). The answer is JSON with HTTP 200 even for
errors: `status` true with message_id, price (per part), parts and amount
(the total), or `status` false with an error code and text. Balance: GET
/api/balances. This is the API generation the enterprise system we replace
used; see docs/PROVIDERS.md for why it was chosen and what is unverified.

WebSMS documents no delivery-receipt push, no status query on this API and no
inbound messages, so it takes no callbacks (`callback_kinds` is empty: those URLs answer 404).
"""

from providers.base import Balance, ProviderAuthError, SendResult, TransientProviderError
from providers.http import HttpProvider, Response
from providers.wire import error_for_code, to_decimal, to_int

CURRENCY = "BYN"

# The codes both client libraries list (1 wrong login, 2 wrong apikey, 3 server error,
# 4 validation, 5 not found, 6 bad request, 7 missing parameter); the rest are permanent.
ERROR_CODES = {1: ProviderAuthError, 2: ProviderAuthError, 3: TransientProviderError}


class WebSmsProvider(HttpProvider):
    name = "websms"
    sender_key = "sender"
    settings_prefix = "WEBSMS_"
    required_credentials = ("user", "apikey")
    optional_settings = {"sender": ""}

    def send(self, message) -> SendResult:
        form = {"user": self.user, "apikey": self.apikey, "msisdn": message.to.lstrip("+"), "text": message.body}
        if self.sender:
            form["sender"] = self.sender
        if message.pk:
            form["custom_id"] = str(message.pk)[:20]
        data = self.request("POST", "/api/send/sms", data=form).data
        if not data.get("message_id"):
            raise TransientProviderError("WebSMS answered success without a message_id", raw=data)
        return SendResult(
            provider_message_id=str(data["message_id"]),
            segments=to_int(data.get("parts")),
            price=to_decimal(data.get("amount")),
            price_unit=CURRENCY,
            raw={key: data.get(key) for key in ("message_id", "price", "parts", "amount", "custom_id")},
        )

    def balance(self) -> Balance:
        data = self.request("GET", "/api/balances", params={"user": self.user, "apikey": self.apikey}).data
        amount = to_decimal(data.get("sms"))
        if amount is None:
            raise TransientProviderError("WebSMS balance answer has no `sms` amount", raw=data)
        return Balance(amount=amount, currency=CURRENCY, extra={"viber": data.get("viber")})

    def raise_for_response(self, response: Response) -> None:
        """An HTTP error by its status; then WebSMS answers JSON with `status` true, or false and an error."""
        super().raise_for_response(response)
        data = response.data
        if not isinstance(data, dict):
            raise TransientProviderError(f"WebSMS answered non-JSON: {response.text[:200]}")
        if data.get("status") is not True:
            raise _error(data)


def _error(data: dict):
    """`status` false: the code and text are under `error` (a code, a text or an object) or `code`/`message`."""
    error = data.get("error")
    if isinstance(error, dict):
        code, text = error.get("code"), error.get("message", "")
    else:
        code = data.get("code", error if not isinstance(error, str) else None)
        text = data.get("message") or (error if isinstance(error, str) else "")
    code = to_int(code)
    return error_for_code(code, f"WebSMS error {code}: {text}", ERROR_CODES, raw=data)
