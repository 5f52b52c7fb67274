"""One HTTP client for every HTTP carrier backend (Twilio uses its SDK's own), and their base class.

`HttpProvider` owns the request, its timeout and the error mapping: a
carrier backend subclasses it, calls `self.request(method, path, ...)` and
overrides `raise_for_response(response)` only where its carrier says more
than the HTTP status (an error inside an HTTP 200, a 404 that means our
configuration). This is django-anymail's AnymailRequestsBackend model.

The client is libcurl, through pycurl.

`request` takes the few arguments backends use (a form `data` dict or a
ready body, `json`, `params`, `headers`, Basic `auth`) and encodes them the
way `requests` does, so each carrier's wire format is unchanged. It turns a
timeout or a refused connection into TransientProviderError, so a backend
only has to read the carrier's answer.

Why libcurl: on the dispatch path a call through `requests` cost ~0.9 ms of
CPU, through urllib3 ~0.35 ms, through libcurl ~0.1 ms (Python's http.client
parses and writes every header in Python). Each thread keeps one curl handle,
whose connections stay alive for the next call. No cookies are kept (one
process serves many tenants); redirects are not followed (a carrier API
answering 3xx is an error, not a page to visit); HTTP/1.1 only; `timeout` is
for the whole call. Proxy variables (HTTPS_PROXY, NO_PROXY, ...) are read
once per host, as `requests` reads them.

libcurl blocks the thread that calls it. In the web process (gevent, see
gunicorn.conf.py) that thread serves every request of the process, so there
the call runs in gevent's thread pool and the other requests go on meanwhile
(a balance check can take PROVIDER_HTTP_TIMEOUT seconds).
"""

import functools
import io
import json as jsonlib
import os
import sys
import threading
import urllib.request
from base64 import b64encode
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import certifi
import pycurl

from providers.base import Provider, TransientProviderError
from providers.wire import error_for_status

HEADERS = {"User-Agent": "smsgate", "Accept": "*/*"}
CA_BUNDLE = certifi.where()
_local = threading.local()
_inherited: list[pycurl.Curl] = []  # handles a forked child took over from its parent: never used nor closed


@dataclass(frozen=True)
class Response:
    """A carrier's answer, read whole."""

    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self):
        """The decoded JSON body; ValueError if it is not JSON."""
        return jsonlib.loads(self.content)

    @functools.cached_property
    def data(self):
        """The decoded JSON body, or None when the carrier (or a proxy) answered something else; decoded once."""
        try:
            return self.json()
        except ValueError:
            return None


def _handle() -> pycurl.Curl:
    """This thread's curl handle; it keeps the connections it opened alive for the next call."""
    handle = getattr(_local, "handle", None)
    if handle is None:
        handle = _local.handle = pycurl.Curl()
    return handle


def _forget_handle() -> None:
    """A forked child (a Celery pool process) must neither use nor close its parent's connections."""
    handle = _local.__dict__.pop("handle", None)
    if handle is not None:
        _inherited.append(handle)


os.register_at_fork(after_in_child=_forget_handle)


@functools.cache
def _proxy_for(scheme: str, host: str) -> str:
    """The proxy the environment names for this scheme and host, or "" for none."""
    proxy = urllib.request.getproxies().get(scheme, "")
    return "" if not proxy or urllib.request.proxy_bypass(host) else proxy


def request(method: str, url: str, *, timeout, data=None, json=None, params=None, headers=None,
            auth: tuple[str, str] | None = None) -> Response:
    """Send one request and read the whole answer (see the module docstring)."""
    if params:
        url += ("&" if "?" in url else "?") + _form(params)
    body, sent = _encode(data, json, auth)
    sent.update(headers or {})
    parts = urlsplit(url)
    # Errors name the host only: the library's own texts may repeat the URL, credentials included.
    where = parts.netloc
    handle = _handle()
    answer = io.BytesIO()
    _prepare(handle, method, url, body, sent, timeout, proxy=_proxy_for(parts.scheme, parts.hostname or ""))
    handle.setopt(pycurl.WRITEDATA, answer)
    try:
        _perform(handle)
    except pycurl.error as exc:
        if exc.args[0] == pycurl.E_OPERATION_TIMEDOUT:
            raise TransientProviderError(f"{where} timed out after {timeout}s") from exc
        raise TransientProviderError(f"{where} unreachable (curl error {exc.args[0]})") from exc
    return Response(status_code=handle.getinfo(pycurl.RESPONSE_CODE), content=answer.getvalue())


def _perform(handle: pycurl.Curl) -> None:
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("socket"):  # a greenlet: do not stop the others
        import gevent

        gevent.get_hub().threadpool.apply(handle.perform)
    else:
        handle.perform()


def _encode(data, json, auth) -> tuple[bytes | None, dict[str, str]]:
    """The body and headers, as requests made them."""
    sent = dict(HEADERS)
    body = None
    if json is not None:
        body = jsonlib.dumps(json, allow_nan=False).encode()
        sent["Content-Type"] = "application/json"
    elif isinstance(data, dict):
        body = _form(data).encode()
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    elif data is not None:
        body = data.encode() if isinstance(data, str) else data
    if auth:
        sent["Authorization"] = "Basic " + b64encode(f"{auth[0]}:{auth[1]}".encode("latin-1")).decode()
    return body, sent


def _prepare(handle: pycurl.Curl, method: str, url: str, body: bytes | None, headers: dict, timeout,
             *, proxy: str) -> None:
    handle.reset()  # every option back to its default; live connections are kept
    handle.setopt(pycurl.URL, url)
    handle.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
    handle.setopt(pycurl.NOSIGNAL, 1)  # timeouts without signals, so any thread may call
    handle.setopt(pycurl.CAINFO, CA_BUNDLE)
    handle.setopt(pycurl.PROXY, proxy)  # "" means none, whatever libcurl would read from the environment
    milliseconds = max(1, int(timeout * 1000))  # 0 would mean "no timeout" to libcurl
    handle.setopt(pycurl.CONNECTTIMEOUT_MS, milliseconds)
    handle.setopt(pycurl.TIMEOUT_MS, milliseconds)
    handle.setopt(pycurl.ACCEPT_ENCODING, "gzip, deflate")
    headers = dict(headers)
    if body is not None:
        handle.setopt(pycurl.POSTFIELDS, body)
        headers.setdefault("Content-Type", "")  # requests sent none: drop libcurl's form type
    if method != ("POST" if body is not None else "GET"):
        handle.setopt(pycurl.CUSTOMREQUEST, method)
    # "Name:" with no value stops libcurl sending its own; "Expect:" stops it asking for (and
    # waiting for) a 100-continue before a body over 1 KiB.
    lines = [f"{name}: {value}" if value else f"{name}:" for name, value in headers.items()]
    handle.setopt(pycurl.HTTPHEADER, [*lines, "Expect:"])


def _form(fields: dict) -> str:
    """URL-encode like requests: a list value repeats its key, None values are left out."""
    pairs = [(key, value) for key, values in fields.items()
             for value in (values if isinstance(values, (list, tuple)) else [values]) if value is not None]
    return urlencode(pairs)


class HttpProvider(Provider):
    """A carrier reached over HTTP: its base URL, our timeout, and how its answers map to errors.

    Transport failures (timeout, refused connection, TLS) are TransientProviderError
    (see `request` above); an answer goes through `raise_for_response`, whose
    default maps a non-2xx status with `wire.error_for_status`: 401/403 auth,
    429 rate limited, 408 and 5xx transient, any other 4xx permanent. A carrier
    that reports errors inside a 200 overrides it and calls super() or not.
    Connections are kept alive per thread by the client (one curl handle each),
    whatever backend instance sends.
    """

    optional_settings = {"base_url": "", "timeout": 15}

    def __init__(self, **config):
        super().__init__(**config)
        self.base_url = self.base_url.rstrip("/")

    def request(self, method: str, path: str, **kwargs) -> Response:
        """`method` on `<base_url><path>`: the answer, once `raise_for_response` found no error in it."""
        response = request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        self.raise_for_response(response)
        return response

    def raise_for_response(self, response: Response) -> None:
        """Raise the ProviderError this answer means, if any."""
        if not 200 <= response.status_code < 300:
            raise error_for_status(response.status_code, response.text[:200], raw=response.data)
