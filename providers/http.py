"""One pooled `requests.Session` for every HTTP carrier backend (Twilio uses its SDK's own).

`request` turns a timeout or a refused connection into TransientProviderError,
so a backend only has to read the carrier's answer.
"""

import functools
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from providers.base import TransientProviderError


@functools.cache
def session() -> requests.Session:
    """The process-wide session: keep-alive connections pooled per carrier host."""
    shared = requests.Session()
    adapter = HTTPAdapter(pool_connections=16, pool_maxsize=32)
    shared.mount("https://", adapter)
    shared.mount("http://", adapter)
    shared.headers["User-Agent"] = "smsgate"
    # No cookies: one process serves many tenants, and a cookie one carrier account
    # sets must never ride along on another account's requests.
    shared.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return shared


def request(method: str, url: str, *, timeout, **kwargs) -> requests.Response:
    # Errors name the host only: requests' own texts repeat the query string, credentials included.
    where = urlsplit(url).netloc
    try:
        return session().request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout as exc:
        raise TransientProviderError(f"{where} timed out after {timeout}s") from exc
    except requests.ConnectionError as exc:
        raise TransientProviderError(f"{where} unreachable ({type(exc).__name__})") from exc
