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

from providers import http
from providers.base import Balance, Provider, ProviderAuthError, SendResult, TransientProviderError
from providers.wire import error_for_code, error_for_status, json_or_none, to_decimal, to_int

CURRENCY = "BYN"

# The codes both client libraries list (1 wrong login, 2 wrong apikey, 3 server error,
# 4 validation, 5 not found, 6 bad request, 7 missing parameter); the rest are permanent.
ERROR_CODES = {1: ProviderAuthError, 2: ProviderAuthError, 3: TransientProviderError}


class WebSmsProvider(Provider):
    name = "websms"
    sender_key = "sender"
    required_credentials = {"user": "WEBSMS_USER", "apikey": "WEBSMS_APIKEY"}

    def __init__(self, *, user: str, apikey: str, base_url: str, sender: str = "", timeout: float = 15):
        super().__init__(user=user, sender=sender)
        self.user = user
        self.apikey = apikey
        self.base_url = base_url.rstrip("/")
        self.sender = sender
        self.timeout = timeout

    @classmethod
    def config_from_settings(cls, settings) -> dict:
        return {
            "user": settings.WEBSMS_USER,
            "apikey": settings.WEBSMS_APIKEY,
            "base_url": settings.WEBSMS_BASE_URL,
            "sender": settings.WEBSMS_SENDER,
            "timeout": settings.PROVIDER_HTTP_TIMEOUT,
        }

    def send(self, message) -> SendResult:
        form = {"user": self.user, "apikey": self.apikey, "msisdn": message.to.lstrip("+"), "text": message.body}
        if self.sender:
            form["sender"] = self.sender
        if message.pk:
            form["custom_id"] = str(message.pk)[:20]
        data = self._call("POST", "/api/send/sms", data=form)
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
        data = self._call("GET", "/api/balances", params={"user": self.user, "apikey": self.apikey})
        amount = to_decimal(data.get("sms"))
        if amount is None:
            raise TransientProviderError("WebSMS balance answer has no `sms` amount", raw=data)
        return Balance(amount=amount, currency=CURRENCY, extra={"viber": data.get("viber")})

    def _call(self, method: str, path: str, **kwargs) -> dict:
        """The JSON answer of a successful call; the mapped ProviderError otherwise."""
        response = http.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        data = json_or_none(response)
        if response.status_code != 200:
            raise error_for_status(response.status_code, response.text[:200], raw=data)
        if not isinstance(data, dict):
            raise TransientProviderError(f"WebSMS answered non-JSON: {response.text[:200]}")
        if data.get("status") is not True:
            raise _error(data)
        return data


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
