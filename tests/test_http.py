"""The carriers' HTTP client: requests leave exactly as `requests` (the client before it) encoded them."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from providers import http
from providers.base import TransientProviderError
from tests.fakes.server import FakeServer, Reply
from tests.fakes.tls import self_signed


class Echo(FakeServer):
    def handle(self, request):
        return Reply(200, {"ok": True})


CALLS = [
    pytest.param("POST", {"data": {"login": "a", "mes": "Привет & co = 100%", "cost": 3, "skip": None,
                                   "phones": ["+79161234567", "+79161234568"]}}, id="form"),
    pytest.param("POST", {"json": {"to": "+15550001", "body": "hi ☺"}, "auth": ("api-id", "tøken")}, id="json+auth"),
    pytest.param("GET", {"params": {"user": "u", "apikey": "k", "none": None}}, id="query"),
    pytest.param("POST", {"data": "account=a&text=%A4%A4", "headers": {
        "Content-Type": "application/x-www-form-urlencoded; charset=Big5"}}, id="ready body"),
    pytest.param("POST", {"data": {"mes": "я" * 1000}}, id="body over 1 KiB"),
]


@pytest.mark.parametrize(("method", "kwargs"), CALLS)
def test_a_request_goes_out_as_requests_encoded_it(method, kwargs):
    with Echo() as fake:
        url = f"{fake.url}/sys/send.php?fmt=3"
        answer = http.request(method, url, timeout=5, **kwargs)
        [seen] = fake.requests
    expected = requests.Request(method, url, **kwargs).prepare()
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    assert (seen.method, seen.path) == (method, "/sys/send.php")
    assert seen.query == parse_qs(urlsplit(expected.url).query, keep_blank_values=True)
    body = expected.body.encode() if isinstance(expected.body, str) else expected.body or b""
    assert seen.body == body
    for name in ("Content-Type", "Authorization"):
        assert seen.headers.get(name) == expected.headers.get(name)
    assert seen.headers["User-Agent"] == "smsgate"
    assert "Expect" not in seen.headers and "Cookie" not in seen.headers


def test_a_redirect_is_an_answer_not_a_page_to_follow():
    with Echo() as fake:
        fake.fail_next(Reply(302, b"", headers={"Location": f"{fake.url}/elsewhere"}))
        answer = http.request("POST", f"{fake.url}/sys/send.php", data={"a": 1}, timeout=5)
        assert answer.status_code == 302 and len(fake.requests) == 1


def test_a_refused_connection_is_transient_and_names_the_host_only():
    with Echo() as fake:
        url = fake.url
    with pytest.raises(TransientProviderError, match="unreachable") as caught:
        http.request("POST", f"{url}/sys/send.php?psw=secret", data={"psw": "secret"}, timeout=2)
    assert "secret" not in str(caught.value)


def test_a_carrier_certificate_no_authority_signed_is_refused(tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path)
    with Echo(tls=(cert, key)) as fake:
        url = fake.url + "/sys/send.php"
        with pytest.raises(TransientProviderError, match="unreachable"):
            http.request("POST", url, data={"a": 1}, timeout=5)
        assert fake.requests == []
        monkeypatch.setattr(http, "CA_BUNDLE", cert)  # trusted, the same server answers
        assert http.request("POST", url, data={"a": 1}, timeout=5).json() == {"ok": True}
