"""A loopback fake of SpotHit's HTTP API: /api/envoyer/sms, /api/credits, and its receipt pushes.

Validates like SpotHit (key, type, message, sender, recipients, smslong /
smslongnbr against the message size) and answers `{"resultat":1,"id":..}` or
`{"resultat":0,"erreurs":"<codes>"}`. Receipts are pushed, as SpotHit does, to
the `url` the campaign was sent with.
"""

import hmac
import itertools
import re
from urllib.parse import urlsplit

from providers.segments import count_segments
from providers.spothit import render
from tests.fakes.callback import Callback
from tests.fakes.server import FakeServer, Reply

API_KEY = "spothit-test-key"
FORBIDDEN_NUMBERS = {"33600000000"}  # a well-formed number SpotHit refuses (error 5)
_DATAS = re.compile(r"^destinataires\[(\d+)\]\[(\w+)\]$")


def spothit_error(*codes: int) -> Reply:
    return Reply(200, {"resultat": 0, "erreurs": ",".join(map(str, codes))})


class FakeSpotHit(FakeServer):
    def __init__(self, api_key: str = API_KEY):
        super().__init__()
        self.api_key = api_key
        self.campaigns: dict[int, dict] = {}
        self.credits = {"premium": 120, "lowcost": 40, "mms": 5, "euros": 9.6}
        self.statuses: dict[int, tuple[int, int]] = {}  # campaign id -> (statut, statut_detaille) for /api/dlr
        self._ids = itertools.count(1337)

    def handle(self, request) -> Reply:
        if request.path not in ("/api/envoyer/sms", "/api/credits", "/api/dlr"):
            return Reply(404, {"erreurs": [404]})
        if not hmac.compare_digest(request.field("key"), self.api_key):
            return spothit_error(30)
        if request.path == "/api/credits":
            return Reply(200, {"resultat": 1, **self.credits, "post_paye": 0, "pre_paye": 1})
        if request.path == "/api/dlr":
            return self._dlr(request)
        return self._send(request)

    def _send(self, request) -> Reply:
        message, sender = request.field("message"), request.field("expediteur")
        if request.field("type") not in ("premium", "lowcost"):
            return spothit_error(1)
        if not message:
            return spothit_error(2)
        if sender and not re.fullmatch(r"[A-Za-z0-9]{3,11}", sender):
            return spothit_error(8)
        recipients = self._recipients(request)
        if not recipients:
            return spothit_error(4)
        if any(number in FORBIDDEN_NUMBERS for number in recipients):
            return spothit_error(5)
        parts = max(count_segments(render(message, variables)).segments for variables in recipients.values())
        if parts > 1 and request.field("smslong") != "1":
            return spothit_error(3)
        if parts > 1 and request.field("smslongnbr") != str(parts):
            return spothit_error(16)
        date = request.field("date")
        if date and not date.isdigit():
            return spothit_error(23)
        campaign_id = next(self._ids)
        self.campaigns[campaign_id] = {"recipients": recipients, "message": message, "sender": sender,
                                       "parts": parts, "date": date, "url": request.field("url")}
        return Reply(200, {"resultat": 1, "id": campaign_id})

    def _dlr(self, request) -> Reply:
        """Rows [numero, statut, date_emission, date_mise_a_jour, statut_detaille, id_message, operateur]."""
        campaign_id = int(request.field("id") or 0)
        if campaign_id not in self.campaigns:
            return Reply(200, {"resultat": False, "erreurs": "4"})
        statut, detail = self.statuses.get(campaign_id, (3, 0))
        return Reply(200, [[number, statut, 1732622896, 1732622956, detail, campaign_id, "20801"]
                           for number in self.campaigns[campaign_id]["recipients"]])

    @staticmethod
    def _recipients(request) -> dict[str, dict[str, str]]:
        """Valid numbers and their variables, from a comma list or the `datas` form."""
        if request.field("destinataires_type") == "datas":
            recipients: dict[str, dict[str, str]] = {}
            for name, values in request.form.items():
                if match := _DATAS.match(name):
                    recipients.setdefault(match[1], {})[match[2]] = values[0]
        else:
            recipients = {number.strip(): {} for number in request.field("destinataires").split(",")}
        return {number: variables for number, variables in recipients.items()
                if re.fullmatch(r"\d{9,15}", number)}

    def receipt(self, campaign_id: int, statut: int, *, statut_code: str = "0", url: str | None = None) -> Callback:
        """The push SpotHit makes to the campaign's receipt URL (or to `url`, to forge one)."""
        campaign = self.campaigns[campaign_id]
        parts = urlsplit(campaign["url"] if url is None else url)
        number = next(iter(campaign["recipients"]))
        fields = {"id_accuse": f"{campaign_id}{number[-4:]}", "id_message": str(campaign_id), "numero": number,
                  "statut": str(statut), "date_envoi": "1732622896", "date_update": "1732622956",
                  "statut_code": statut_code, "nom": "smsgate"}
        return Callback.form(parts.path + (f"?{parts.query}" if parts.query else ""), fields)
