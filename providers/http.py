"""One shared HTTP session for carrier backends that speak plain HTTP (no SDK).

Pooled connections (one pool per host, reused across sends), a default
timeout on every request (requests has none), a "smsgate" User-Agent, and
no cookie jar: one process serves many tenants, and a cookie set by one
carrier account must never ride along on another's requests.
"""

from functools import lru_cache
from http.cookiejar import DefaultCookiePolicy

import requests
from requests.adapters import HTTPAdapter

USER_AGENT = "smsgate"
DEFAULT_TIMEOUT = 15  # seconds; backends pass their own PROVIDER_HTTP_TIMEOUT
POOL_SIZE = 20  # connections kept per host, about one per worker thread


class TimeoutSession(requests.Session):
    """A Session whose requests time out unless the caller says otherwise."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT):
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = USER_AGENT
        self.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        adapter = HTTPAdapter(pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, **kwargs)


@lru_cache(maxsize=1)
def shared_session() -> TimeoutSession:
    """The process-wide session every HTTP backend uses."""
    return TimeoutSession()
